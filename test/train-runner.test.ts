/**
 * The DAG runner on the real embedded store: stages in dependency order, a failed stage fails the run
 * and skips what depends on it, a retry resumes at the failed stage (replaying what it needs), and a
 * replay whose input changed refuses to mix results.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { DuckdbStore } from '../src/adapters/duckdb/duckdb-store.js'
import { InProcessBus } from '../src/adapters/in-process/in-process-bus.js'
import { isAirlakeError } from '../src/core/errors.js'
import { systemClock } from '../src/core/ports/clock.js'
import { silentLogger } from '../src/core/ports/logger.js'
import {
  orderStages,
  type PipelineDefinition,
  type RunnerDeps,
  retryRun,
  type Stage,
  startRun,
} from '../src/pipeline/runner.js'

let dir = ''
let deps: RunnerDeps

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlake-runner-'))
  const store = await DuckdbStore.open(join(dir, 'airlake.duckdb'))
  await store.migrate()
  deps = { store, bus: new InProcessBus(), clock: systemClock, logger: silentLogger }
})

after(async () => {
  await (deps.store as DuckdbStore).close()
  await rm(dir, { recursive: true, force: true })
})

/** A three-stage pipeline: `source` reads `world.input`, `double` fails while `world.broken`, `sink` adds one. */
function pipeline(world: {
  input: number
  broken: boolean
  calls: string[]
}): PipelineDefinition<{ label: string }> {
  const stages: Array<Stage<{ label: string }>> = [
    {
      name: 'sink',
      dependsOn: ['double'],
      async run(ctx) {
        world.calls.push(`sink${ctx.replay ? ' (replay)' : ''}`)
        const value = ctx.input<number>('double') + 1
        ctx.metrics({ result: value })
        return { value, outputs: { value } }
      },
    },
    {
      name: 'source',
      dependsOn: [],
      async run(ctx) {
        world.calls.push(`source${ctx.replay ? ' (replay)' : ''}`)
        return { value: world.input, outputs: { fingerprint: `input-${world.input}` } }
      },
    },
    {
      name: 'double',
      dependsOn: ['source'],
      async run(ctx) {
        world.calls.push(`double${ctx.replay ? ' (replay)' : ''}`)
        if (world.broken) throw new Error('the disk is full')
        await ctx.log('info', 'doubling')
        return { value: ctx.input<number>('source') * 2 }
      },
    },
  ]
  return { kind: 'test', stages }
}

describe('the pipeline runner', () => {
  it('orders stages by their dependencies and refuses cycles', () => {
    const world = { input: 1, broken: false, calls: [] }
    assert.deepEqual(
      orderStages(pipeline(world).stages).map((s) => s.name),
      ['source', 'double', 'sink'],
    )
    const cycle = [
      { name: 'a', dependsOn: ['b'], run: async () => ({}) },
      { name: 'b', dependsOn: ['a'], run: async () => ({}) },
    ]
    assert.throws(
      () => orderStages(cycle),
      (e) => isAirlakeError(e, 'INTERNAL') && /cycle/.test(e.message),
    )
  })

  it('records a failed stage with its reason, skips what depends on it, and resumes there on retry', async () => {
    const world = { input: 5, broken: true, calls: [] as string[] }
    const definition = pipeline(world)
    const failed = await (await startRun(deps, definition, { label: 'x' })).done
    assert.equal(failed.status, 'failed')
    assert.match(failed.error!, /stage double failed: Error: the disk is full/)
    assert.deepEqual(
      failed.steps.map((s) => [s.name, s.status]),
      [
        ['source', 'succeeded'],
        ['double', 'failed'],
        ['sink', 'skipped'],
      ],
    )
    assert.deepEqual(await deps.store.getRun(failed.id), JSON.parse(JSON.stringify(failed)))

    world.broken = false
    world.calls.length = 0
    const retried = await (await retryRun(deps, { test: definition as never }, failed.id)).done
    assert.equal(retried.status, 'succeeded', retried.error)
    assert.deepEqual(world.calls, ['source (replay)', 'double', 'sink'])
    assert.equal(retried.metrics.result, 11)
    assert.equal(retried.steps[1]!.outputs!.attempts, 2)
    const logs = await deps.store.listRunLogs(failed.id)
    assert.ok(logs.some((l) => l.level === 'error' && /the disk is full/.test(l.message)))
    assert.ok(logs.some((l) => /replaying stage source/.test(l.message)))
    await assert.rejects(retryRun(deps, { test: definition as never }, failed.id), (e) =>
      isAirlakeError(e, 'CONFLICT'),
    )
  })

  it('refuses to resume when a replayed stage no longer gives the same result', async () => {
    const world = { input: 1, broken: true, calls: [] as string[] }
    const definition = pipeline(world)
    const failed = await (await startRun(deps, definition, { label: 'y' })).done
    world.broken = false
    world.input = 2
    const retried = await (await retryRun(deps, { test: definition as never }, failed.id)).done
    assert.equal(retried.status, 'failed')
    assert.match(retried.error!, /no longer gives the same result .*start a new run instead/)
    await assert.rejects(retryRun(deps, { test: definition as never }, 'nope'), (e) =>
      isAirlakeError(e, 'RUN_NOT_FOUND'),
    )
  })
})
