import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { DuckdbStore } from '../src/adapters/duckdb/duckdb-store.js'
import { systemClock } from '../src/core/ports/clock.js'
import { silentLogger } from '../src/core/ports/logger.js'
import { forecastReward, Selector } from '../src/pipeline/select.js'

/** mulberry32, so the simulation is the same on every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

describe('the persistent UCB1 selector on a real store (simulation)', () => {
  let store: DuckdbStore
  const random = rng(7)
  const gaussian = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random())
  /** Forecast error spread of each simulated model: `good` is better than `bad` but not by much. */
  const errorSd: Record<string, number> = { 'bad@1': 1.6, 'good@1': 1.0, 'new@1': 0.4 }
  const selector = () =>
    new Selector({ store, clock: systemClock, logger: silentLogger }, { saveDelayMs: 20 })

  /** One actual: every arm forecast it in shadow (full feedback); returns the arm served. */
  async function round(s: Selector, arms: string[]): Promise<string> {
    const choice = await s.choose('sim/iaq', arms)
    await s.reward(
      'sim/iaq',
      arms.map((arm) => ({ arm, reward: forecastReward(100 + gaussian() * errorSd[arm]!, 100, 1) })),
    )
    return choice.arm
  }

  before(async () => {
    store = await DuckdbStore.open(':memory:')
  })
  after(async () => {
    await store?.close()
  })

  it('converges on the better of two models and keeps its state in the store', async () => {
    const s = selector()
    const served: string[] = []
    for (let i = 0; i < 400; i++) served.push(await round(s, ['bad@1', 'good@1']))
    assert.ok(
      served.slice(-200).every((arm) => arm === 'good@1'),
      'the good model is served for the last 200 actuals',
    )
    const [view] = await s.describe({ selector: 'sim/iaq' })
    assert.equal(view?.choice, 'good@1')
    assert.deepEqual(
      view?.arms.map((arm) => [arm.arm, arm.pulls]),
      [
        ['good@1', 400],
        ['bad@1', 400],
      ],
    )
    assert.ok(view!.arms[0]!.meanReward > view!.arms[1]!.meanReward)

    // A new process reads the same bandit and makes the same choice.
    const restarted = selector()
    assert.deepEqual(await restarted.describe({ selector: 'sim/iaq' }), [view])
    assert.equal((await restarted.choose('sim/iaq', ['bad@1', 'good@1'])).arm, 'good@1')
  })

  it('tries a late challenger at once and serves it when it proves better', async () => {
    const s = selector()
    const first = await s.choose('sim/iaq', ['bad@1', 'good@1', 'new@1'])
    assert.deepEqual(first, { arm: 'new@1', reason: 'untried' })
    const served: string[] = []
    for (let i = 0; i < 150; i++) served.push(await round(s, ['bad@1', 'good@1', 'new@1']))
    assert.ok(
      served.slice(-50).every((arm) => arm === 'new@1'),
      `last served: ${served.slice(-5).join(', ')}`,
    )
  })

  it('saves rewards shortly after counting them, and at once on flush', async () => {
    const s = new Selector({ store, clock: systemClock, logger: silentLogger }, { saveDelayMs: 60_000 })
    const pulls = async () => (await store.listArms('sim/save')).map((arm) => [arm.arm, arm.pulls])
    await s.reward('sim/save', [{ arm: 'a@1', reward: 0.5 }])
    assert.deepEqual(await pulls(), [], 'not saved yet')
    assert.equal(
      (await s.choose('sim/save', ['a@1', 'b@1'])).arm,
      'b@1',
      'counted at once: a@1 is tried, b@1 is not',
    )
    await s.flush()
    assert.deepEqual((await pulls()).sort(), [
      ['a@1', 1],
      ['b@1', 0],
    ])
    await assert.rejects(s.reward('sim/save', [{ arm: 'a@1', reward: 1.5 }]), { code: 'BAD_REQUEST' })
  })
})
