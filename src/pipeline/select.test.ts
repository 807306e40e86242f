import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { checkArm, forecastReward, scoreForecasts, seriesScale, ucb1Choose, ucb1Scores } from './select.js'

/** mulberry32: a small seeded generator, so the simulation is the same on every run. */
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

function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random())
}

describe('ucb1', () => {
  it('tries every arm once, in the order given, before using the index', () => {
    assert.equal(
      ucb1Choose([
        { arm: 'a@1', pulls: 3, rewardSum: 2.9 },
        { arm: 'b@1', pulls: 0, rewardSum: 0 },
      ]),
      'b@1',
    )
    assert.equal(
      ucb1Choose([
        { arm: 'a@1', pulls: 0, rewardSum: 0 },
        { arm: 'b@1', pulls: 0, rewardSum: 0 },
      ]),
      'a@1',
    )
  })

  it('scores mean + sqrt(2 ln N / n)', () => {
    const [a, b] = ucb1Scores([
      { arm: 'a@1', pulls: 10, rewardSum: 6 },
      { arm: 'b@1', pulls: 30, rewardSum: 21 },
    ])
    assert.ok(Math.abs(a!.ucb - (0.6 + Math.sqrt((2 * Math.log(40)) / 10))) < 1e-12)
    assert.ok(Math.abs(b!.ucb - (0.7 + Math.sqrt((2 * Math.log(40)) / 30))) < 1e-12)
    assert.equal(b!.meanReward, 0.7)
    // a has the lower mean but far fewer pulls: UCB1 explores it.
    assert.equal(ucb1Choose([a!, b!]), 'a@1')
  })

  it('converges on the better of two models when only the served one is scored (seeded simulation)', () => {
    const random = rng(42)
    const errorSd = { 'good@1': 0.5, 'bad@1': 2 }
    const arms = [
      { arm: 'bad@1', pulls: 0, rewardSum: 0 },
      { arm: 'good@1', pulls: 0, rewardSum: 0 },
    ]
    const rounds = 5000
    let lastThousandGood = 0
    for (let round = 0; round < rounds; round++) {
      const chosen = ucb1Choose(arms)
      const arm = arms.find((a) => a.arm === chosen)!
      const error = gaussian(random) * errorSd[chosen as keyof typeof errorSd]
      arm.pulls++
      arm.rewardSum += forecastReward(100 + error, 100, 1)
      if (round >= rounds - 1000 && chosen === 'good@1') lastThousandGood++
    }
    const good = arms.find((a) => a.arm === 'good@1')!
    assert.ok(good.pulls / rounds > 0.85, `good arm pulled ${good.pulls} of ${rounds}`)
    assert.ok(lastThousandGood > 950, `good arm served ${lastThousandGood} of the last 1000`)
    assert.equal(ucb1Choose(arms), 'good@1')
  })

  it('refuses an empty arm list', () => {
    assert.throws(() => ucb1Choose([]), { code: 'BAD_REQUEST' })
  })
})

describe('rewards', () => {
  it('is 1 for a perfect forecast and 1/2 when the error equals the scale', () => {
    assert.equal(forecastReward(5, 5, 2), 1)
    assert.equal(forecastReward(7, 5, 2), 0.5)
    assert.equal(forecastReward(3, 5, 2), 0.5)
  })

  it('scales by the mean one-step change, floored for flat series', () => {
    assert.equal(seriesScale([10, 12, 11, 13]), (2 + 1 + 2) / 3)
    assert.equal(seriesScale([50, 50, 50]), 0.5)
    assert.equal(seriesScale([0, 0]), 1e-9)
  })

  it('scores arms on the horizons they all forecast', () => {
    const rewards = scoreForecasts(
      [
        { arm: 'a@1', horizon: 1, value: 10 },
        { arm: 'a@1', horizon: 2, value: 12 },
        { arm: 'a@1', horizon: 3, value: 30 },
        { arm: 'b@1', horizon: 1, value: 11 },
        { arm: 'b@1', horizon: 2, value: 10 },
      ],
      10,
      2,
    )
    assert.deepEqual(rewards, [
      { arm: 'a@1', reward: (1 + 0.5) / 2, horizons: 2 },
      { arm: 'b@1', reward: (1 / 1.5 + 1) / 2, horizons: 2 },
    ])
  })

  it('checks arm names', () => {
    assert.equal(checkArm('dev1.iaq.ridge@3'), 'dev1.iaq.ridge@3')
    assert.throws(() => checkArm('ridge'), /<model>@<version>/)
    assert.throws(() => checkArm('ridge@champion'), { code: 'PARAMETER_INVALID' })
  })
})
