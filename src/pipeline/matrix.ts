/**
 * Stage 4, matrix generator: the training matrix written to the lake as a gold snapshot, so every model
 * version can be traced to the exact rows it learnt from (DESIGN.md section 3).
 *
 * `gold/<snapshotId>/matrix.parquet` holds one row per window: `time` (the window's last input, UTC),
 * `split` (`train`, `validation`, `test`), `x_1 … x_L` (the window, oldest first: the signature's
 * input), `y_1 … y_H` (the next H values: its output) and `f_<feature>` (the feature generator's
 * columns). `gold/<snapshotId>/manifest.json` describes it; it is written last, so a snapshot with a
 * manifest is complete. The id is a hash of the matrix: the same rows give the same snapshot, written once.
 */
import { createHash } from 'node:crypto'
import type { FeatureSpec } from '../core/features.js'
import type { Lake } from '../core/ports/lake.js'
import type { TimeMs } from '../core/time.js'
import type { Dataset, SplitName } from './dataset.js'
import type { FeatureTable } from './feature-generator.js'
import { encodeParquet, type ParquetColumn } from './parquet-writer.js'
import type { GapReport } from './time-series.js'

export interface GoldManifest {
  snapshotId: string
  createdAt: TimeMs
  deviceId: string
  measure: string
  stepMs: number
  window: number
  horizon: number
  /** First and last time of the grid the windows were cut from. */
  fromMs: TimeMs
  toMs: TimeMs
  split: number
  testStartMs: TimeMs
  validationStartMs: TimeMs
  rows: Record<SplitName, number>
  /** Windows dropped because they cross a long gap. */
  dropped: Record<SplitName, number>
  gaps: Omit<GapReport, 'longGaps'> & { longGaps: number }
  /** Mean and standard deviation of the training part only. */
  normalisation: Dataset['normalisation']
  featureSpec: FeatureSpec
  columns: string[]
  matrixKey: string
  bytes: number
  sha256: string
}

export interface GoldSnapshot {
  snapshotId: string
  manifestKey: string
  matrixKey: string
  manifest: GoldManifest
  /** True when an identical snapshot was already in the lake (nothing written). */
  reused: boolean
}

/** Lake key of a snapshot's manifest. */
export function manifestKey(snapshotId: string): string {
  return `gold/${snapshotId}/manifest.json`
}

/** Builds the matrix columns, writes the snapshot unless an identical one exists, and returns its manifest. */
export async function writeGoldSnapshot(
  lake: Lake,
  input: {
    deviceId: string
    measure: string
    stepMs: number
    window: number
    horizon: number
    fromMs: TimeMs
    toMs: TimeMs
    split: number
    dataset: Dataset
    features: FeatureTable
    gaps: GapReport
    now: TimeMs
  },
): Promise<GoldSnapshot> {
  const { dataset, features, window: L, horizon: H } = input
  const splits: SplitName[] = ['train', 'validation', 'test']
  const n = splits.reduce((sum, s) => sum + dataset[s].n, 0)
  const time = new Float64Array(n)
  const split: string[] = []
  const x = Array.from({ length: L }, () => new Float64Array(n))
  const y = Array.from({ length: H }, () => new Float64Array(n))
  const f = features.names.map(() => new Float64Array(n))
  let row = 0
  for (const name of splits) {
    const set = dataset[name]
    const table = features.splits[name]
    for (let i = 0; i < set.n; i++, row++) {
      time[row] = set.times[i]!
      split.push(name)
      for (let j = 0; j < L; j++) x[j]![row] = set.windows[i * L + j]!
      for (let h = 0; h < H; h++) y[h]![row] = set.targets[i * H + h]!
      for (let k = 0; k < f.length; k++) f[k]![row] = table.x[i * f.length + k]!
    }
  }
  const columns: ParquetColumn[] = [
    { name: 'time', type: 'timestamp-ms', values: time },
    { name: 'split', type: 'string', values: split },
    ...x.map((values, j) => ({ name: `x_${j + 1}`, type: 'double' as const, values })),
    ...y.map((values, h) => ({ name: `y_${h + 1}`, type: 'double' as const, values })),
    ...f.map((values, k) => ({ name: `f_${features.names[k]}`, type: 'double' as const, values })),
  ]
  const bytes = encodeParquet(columns, {
    'airlake.device': input.deviceId,
    'airlake.measure': input.measure,
    'airlake.signature': JSON.stringify({ window: L, horizon: H, stepMs: input.stepMs }),
  })
  const sha256 = createHash('sha256').update(bytes).digest('hex')
  const snapshotId = `snap-${sha256.slice(0, 16)}`
  const matrixKey = `gold/${snapshotId}/matrix.parquet`
  const key = manifestKey(snapshotId)
  const existing = await lake.get(key)
  if (existing) {
    const manifest = JSON.parse(new TextDecoder().decode(existing)) as GoldManifest
    return { snapshotId, manifestKey: key, matrixKey, manifest, reused: true }
  }
  const { longGaps, ...gapCounts } = input.gaps
  const manifest: GoldManifest = {
    snapshotId,
    createdAt: input.now,
    deviceId: input.deviceId,
    measure: input.measure,
    stepMs: input.stepMs,
    window: L,
    horizon: H,
    fromMs: input.fromMs,
    toMs: input.toMs,
    split: input.split,
    testStartMs: dataset.testStartMs,
    validationStartMs: dataset.validationStartMs,
    rows: { train: dataset.train.n, validation: dataset.validation.n, test: dataset.test.n },
    dropped: dataset.dropped,
    gaps: { ...gapCounts, longGaps: longGaps.length },
    normalisation: dataset.normalisation,
    featureSpec: features.spec,
    columns: columns.map((c) => c.name),
    matrixKey,
    bytes: bytes.length,
    sha256,
  }
  // Matrix first, manifest last: a snapshot whose manifest exists is complete.
  await lake.put(matrixKey, bytes, { overwrite: true })
  await lake.put(key, JSON.stringify(manifest, null, 2), { overwrite: true })
  return { snapshotId, manifestKey: key, matrixKey, manifest, reused: false }
}

/** Reads a snapshot's manifest, or undefined when there is none. */
export async function readGoldManifest(lake: Lake, snapshotId: string): Promise<GoldManifest | undefined> {
  const bytes = await lake.get(manifestKey(snapshotId))
  return bytes ? (JSON.parse(new TextDecoder().decode(bytes)) as GoldManifest) : undefined
}
