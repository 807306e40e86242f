/**
 * The training commands as a user runs them, each `airlake` a separate process on one temp home:
 * a run that fails (no data yet) says why and how to retry; `runs retry` finishes it once the data is
 * there; `train` shows progress and ends with the metrics table beside the baselines and a summary line;
 * `runs list|show`, `models list|promote|register-onnx` work with and without `--json`.
 */
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { openApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { silentLogger } from '../src/core/ports/logger.js'
import type { ModelVersionRecord, RunRecord } from '../src/core/ports/store.js'
import { loadNoxReadings, NOX_DEVICE } from '../src/pipeline/datasets.js'
import { type CliResult, runAirlake } from './support/cli.js'

const MODEL = `${NOX_DEVICE}.nox_ppb.ridge`
const TRAIN = [
  'train',
  ...[
    '--device',
    NOX_DEVICE,
    '--measure',
    'nox_ppb',
    '--step',
    '1h',
    '--window',
    '24',
    '--horizon',
    '6',
    '--models',
    'ridge',
  ],
  ...['--from', '2004-06-01T00:00:00Z', '--to', '2004-06-30T23:00:00Z', '--seed', '3'],
]
let home = ''

before(async () => {
  home = await mkdtemp(join(tmpdir(), 'airlake-train-cli-'))
})
after(() => rm(home, { recursive: true, force: true }))

/** Runs `airlake ARGS` on `home`, as a separate process. */
function airlake(...args: string[]): Promise<CliResult> {
  return runAirlake(home, args)
}

/** y = x·W + b as a minimal ONNX model (opset 13), written by hand: x is n × L, y is n × H. */
function linearOnnx(weights: number[][], bias: number[]): Uint8Array {
  const varint = (value: number) => {
    const out: number[] = []
    let v = value
    while (v > 127) {
      out.push((v & 127) | 128)
      v = Math.floor(v / 128)
    }
    out.push(v)
    return out
  }
  const int = (n: number, v: number) => [...varint(n * 8), ...varint(v)]
  const bytes = (n: number, payload: number[]) => [
    ...varint(n * 8 + 2),
    ...varint(payload.length),
    ...payload,
  ]
  const text = (n: number, v: string) => bytes(n, [...new TextEncoder().encode(v)])
  const floats = (n: number, v: number[]) => bytes(n, [...new Uint8Array(Float32Array.from(v).buffer)])
  const valueInfo = (name: string, width: number) => {
    const shape = [...bytes(1, text(2, 'batch')), ...bytes(1, int(1, width))]
    return [...text(1, name), ...bytes(2, bytes(1, [...int(1, 1), ...bytes(2, shape)]))]
  }
  const initializer = (name: string, dims: number[], v: number[]) => [
    ...dims.flatMap((d) => int(1, d)),
    ...int(2, 1),
    ...floats(4, v),
    ...text(8, name),
  ]
  const node = (op: string, inputs: string[], output: string) => [
    ...inputs.flatMap((i) => text(1, i)),
    ...text(2, output),
    ...text(3, `${op}_node`),
    ...text(4, op),
  ]
  const graph = [
    ...bytes(1, node('MatMul', ['x', 'W'], 'xw')),
    ...bytes(1, node('Add', ['xw', 'b'], 'y')),
    ...text(2, 'linear'),
    ...bytes(5, initializer('W', [weights.length, bias.length], weights.flat())),
    ...bytes(5, initializer('b', [bias.length], bias)),
    ...bytes(11, valueInfo('x', weights.length)),
    ...bytes(12, valueInfo('y', bias.length)),
  ]
  return Uint8Array.from([
    ...int(1, 8),
    ...text(2, 'airlake-test'),
    ...bytes(7, graph),
    ...bytes(8, [...text(1, ''), ...int(2, 13)]),
  ])
}

describe('airlake train, runs and models', () => {
  let failedRun = ''

  it('fails a run without data, saying why and how to retry', async () => {
    const result = await airlake(...TRAIN)
    assert.equal(result.code, 1, result.stderr)
    assert.match(result.stderr, /no nox_ppb readings for device motorway-ch/)
    const id = /airlake runs retry (\S+)`/.exec(result.stderr)
    assert.ok(id, result.stderr)
    failedRun = id[1]!
    const shown = await airlake('runs', 'show', failedRun, '--json')
    const { run } = JSON.parse(shown.stdout) as { run: RunRecord }
    assert.equal(run.status, 'failed')
    assert.deepEqual(
      run.steps.map((s) => s.status),
      ['failed', 'skipped', 'skipped', 'skipped', 'skipped', 'skipped', 'skipped'],
    )
    assert.match(run.steps[0]!.error!, /INSUFFICIENT_DATA/)
  })

  it('retries the failed run once the data is there', async () => {
    const app = await openApp(loadConfig({ AIRLAKE_HOME: home }), { logger: silentLogger })
    try {
      await app.store.writeReadings(
        loadNoxReadings({ measures: ['nox_ppb'] }).filter(
          (r) => r.time >= Date.UTC(2004, 5, 1) && r.time <= Date.UTC(2004, 5, 30, 23),
        ),
      )
    } finally {
      await app.close()
    }
    const retried = await airlake('runs', 'retry', failedRun)
    assert.equal(retried.code, 0, retried.stderr)
    assert.match(retried.stdout, new RegExp(`Run ${failedRun} succeeded on retry`))
    const { run } = JSON.parse((await airlake('runs', 'show', failedRun, '--json')).stdout) as {
      run: RunRecord
    }
    assert.equal(run.status, 'succeeded')
    assert.equal(run.steps[0]!.outputs!.attempts, 2)
  })

  it('trains with progress, a metrics table beside the baselines and a one-line summary', async () => {
    const result = await airlake(...TRAIN)
    assert.equal(result.code, 0, result.stderr)
    assert.match(result.stderr, /\[1\/7\] time-series/)
    assert.match(result.stderr, /\[5\/7\] train .*ridge/)
    const lines = result.stdout.trim().split('\n')
    assert.match(lines[0]!, /^MODEL\s+MAE\s+RMSE\s+sMAPE %\s+vs PERSISTENCE\s+vs SEASONAL\s+REGISTERED/)
    assert.ok(lines.some((l) => /^ridge\s.*motorway-ch\.nox_ppb\.ridge@2$/.test(l)))
    assert.ok(lines.some((l) => /^persistence\s.*1\.00x\s.*\(baseline\)$/.test(l)))
    assert.ok(lines.some((l) => /^seasonal-naive\s.*1\.00x\s+\(baseline\)$/.test(l)))
    const report = /^Report: (.+)$/m.exec(result.stdout)
    assert.ok(report && existsSync(report[1]!))
    assert.match(
      lines.at(-1)!,
      /^Run \S+ succeeded in [\d.]+ s: best ridge MAE [\d.]+ \([\d.]+x seasonal naive\); 1 model versions registered\.$/,
    )
  })

  it('lists runs and models, and promotes a version', async () => {
    const runs = JSON.parse((await airlake('runs', 'list', '--json')).stdout) as RunRecord[]
    assert.equal(runs.length, 2)
    assert.ok(runs.every((r) => r.status === 'succeeded'))
    const table = await airlake('runs', 'list')
    assert.match(table.stdout, /^ID\s+KIND\s+STATUS/)

    const versions = JSON.parse((await airlake('models', 'list', '--json')).stdout) as Array<
      ModelVersionRecord & { aliases: string[] }
    >
    assert.deepEqual(
      versions.map((v) => [v.model, v.version, v.aliases]),
      [
        [MODEL, 2, ['challenger']],
        [MODEL, 1, ['champion']],
      ],
    )
    assert.equal(versions[0]!.metrics.mae, versions[1]!.metrics.mae, 'same seed, same data: same metrics')
    const promoted = await airlake('models', 'promote', MODEL, '2', '--alias', 'champion')
    assert.equal(promoted.code, 0, promoted.stderr)
    assert.match(promoted.stdout, /is now version 2/)
    const after = JSON.parse((await airlake('models', 'list', '--json', '--model', MODEL)).stdout) as Array<{
      version: number
      aliases: string[]
    }>
    assert.deepEqual(after[0]!.aliases, ['champion', 'challenger'].sort())
    assert.equal((await airlake('models', 'promote', MODEL, '7', '--alias', 'champion')).code, 1)
  })

  it('registers an ONNX model trained elsewhere with its signature', async () => {
    const file = join(home, 'linear.onnx')
    await writeFile(
      file,
      linearOnnx(
        [
          [0.25, 0],
          [0.25, 0],
          [0.25, 0],
          [0.25, 1],
        ],
        [0, 1],
      ),
    )
    const result = await airlake(
      'models',
      'register-onnx',
      file,
      '--name',
      'lab.iaq.onnx',
      '--measure',
      'iaq',
      '--window',
      '4',
      '--horizon',
      '2',
      '--step',
      '1m',
      '--json',
    )
    assert.equal(result.code, 0, result.stderr)
    const version = JSON.parse(result.stdout) as ModelVersionRecord
    assert.equal(version.algorithm, 'onnx')
    assert.deepEqual(version.signature, {
      task: 'forecast',
      measure: 'iaq',
      window: 4,
      horizon: 2,
      stepMs: 60_000,
    })
    const wrong = await airlake(
      'models',
      'register-onnx',
      file,
      '--name',
      'lab.bad',
      '--measure',
      'iaq',
      '--window',
      '5',
      '--horizon',
      '2',
    )
    assert.equal(wrong.code, 1)
  })
})
