/** One figure a benchmark measured, beside the baseline measured in the same run. */
export interface BenchResult {
  /** What was measured, e.g. `PUT /sensorsdata requests/s`. */
  name: string
  figure: number
  unit: string
  baseline?: { name: string; figure: number } | undefined
  /** figure / baseline.figure (or the inverse for "lower is better" figures; say which in `notes`). */
  ratio?: number | undefined
  /** The issue's target, e.g. `>= 0.5x`. */
  target?: string | undefined
  /** Whether the target holds, when there is one. */
  met?: boolean | undefined
  notes?: string | undefined
}

export interface BenchOptions {
  /** Small sizes for a quick look (CI smoke); full sizes otherwise. */
  quick?: boolean
}

export type Bench = (options: BenchOptions) => Promise<BenchResult[]>

/** Median of `values` (NaN when empty). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** The q-quantile (0..1) of `values`, nearest rank. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!
}

/** Prints results as a Markdown table. */
export function formatResults(title: string, results: readonly BenchResult[]): string {
  // Figures read back from latest.json have NaN as null: both print as "-".
  const fmt = (n: number | null) =>
    n === null || !Number.isFinite(n)
      ? '-'
      : Math.abs(n) >= 100
        ? Math.round(n).toLocaleString('en-US')
        : n.toPrecision(3)
  const lines = [
    `### ${title}`,
    '',
    '| measure | figure | baseline | ratio | target |',
    '|---|---|---|---|---|',
  ]
  for (const r of results) {
    lines.push(
      `| ${r.name} | ${fmt(r.figure)} ${r.unit}${r.notes && !Number.isFinite(r.figure ?? Number.NaN) ? ` (${r.notes})` : ''} | ${r.baseline ? `${r.baseline.name}: ${fmt(r.baseline.figure)} ${r.unit}` : ''} | ${
        r.ratio === undefined || r.ratio === null || !Number.isFinite(r.ratio) ? '' : `${r.ratio.toFixed(2)}x`
      } | ${r.target ?? ''}${r.met === undefined ? '' : r.met ? ' ✓' : ' ✗'} |`,
    )
  }
  return lines.join('\n')
}
