import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { silentLogger } from '../core/ports/logger.js'
import { Scheduler } from './scheduler.js'

describe('Scheduler', () => {
  it('runs jobs on their cron, never overlapping, and keeps going after a failure', async () => {
    const scheduler = new Scheduler(silentLogger)
    let ticks = 0
    let concurrent = 0
    let maxConcurrent = 0
    scheduler.add({
      name: 'slow',
      cron: '* * * * * *',
      run: async () => {
        concurrent++
        maxConcurrent = Math.max(maxConcurrent, concurrent)
        await new Promise((resolve) => setTimeout(resolve, 1500))
        concurrent--
        ticks++
      },
    })
    let failures = 0
    scheduler.add({
      name: 'failing',
      cron: '* * * * * *',
      run: async () => {
        failures++
        throw new Error('upstream down')
      },
    })
    scheduler.start()
    await new Promise((resolve) => setTimeout(resolve, 3300))
    scheduler.stop()
    assert.ok(ticks >= 1, 'the slow job ran')
    assert.equal(maxConcurrent, 1, 'never two runs at once')
    assert.ok(failures >= 2, 'the failing job kept being scheduled')
    const failing = scheduler.status().find((s) => s.name === 'failing')!
    assert.equal(failing.lastError, 'upstream down')
  })
  it('refuses a bad cron expression at once', () => {
    const scheduler = new Scheduler(silentLogger)
    assert.throws(() => scheduler.add({ name: 'x', cron: 'every minute', run: async () => {} }))
  })
})
