/** The bus contract: every Bus adapter passes these, run by test/bus-*.test.ts. */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { Bus, BusTopics } from '../src/core/ports/bus.js'

async function eventually(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const start = Date.now()
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

const reading = (deviceId: string, value: number): BusTopics['readings.stored'] => ({
  source: 'http',
  readings: [{ time: 1_700_000_000_000, deviceId, measure: 'iaq', value, source: 'http' }],
})

export function busContract(name: string, open: () => Promise<Bus>): void {
  describe(`Bus contract: ${name}`, () => {
    let bus: Bus
    before(async () => {
      bus = await open()
    })
    after(async () => {
      await bus.close()
    })

    it('delivers every message to every subscriber without a group, in order', async () => {
      const a: number[] = []
      const b: number[] = []
      const offA = bus.subscribe('readings.stored', (m) => void a.push(m.readings[0]!.value))
      const offB = bus.subscribe('readings.stored', (m) => void b.push(m.readings[0]!.value))
      for (let i = 0; i < 5; i++) await bus.publish('readings.stored', reading('d1', i))
      await eventually(() => a.length === 5 && b.length === 5)
      assert.deepEqual(a, [0, 1, 2, 3, 4])
      assert.deepEqual(b, [0, 1, 2, 3, 4])
      offA()
      offB()
    })

    it('gives each message to exactly one member of a group', async () => {
      const seen: string[] = []
      const group = `g${Date.now()}`
      const off1 = bus.subscribe('devices.new', (m) => void seen.push(`1:${m.deviceId}`), { group })
      const off2 = bus.subscribe('devices.new', (m) => void seen.push(`2:${m.deviceId}`), { group })
      for (let i = 0; i < 6; i++)
        await bus.publish('devices.new', { deviceId: `dev${i}`, source: 'http', firstSeen: i })
      await eventually(() => seen.length >= 6)
      await new Promise((resolve) => setTimeout(resolve, 100))
      const devices = seen.map((s) => s.split(':')[1]).sort()
      assert.deepEqual(devices, ['dev0', 'dev1', 'dev2', 'dev3', 'dev4', 'dev5'], 'each message exactly once')
      off1()
      off2()
    })

    it('keeps topics apart and stops delivering after unsubscribe', async () => {
      const runs: string[] = []
      const off = bus.subscribe('runs.updated', (m) => void runs.push(m.runId))
      await bus.publish('models.changed', { model: 'm' })
      await bus.publish('runs.updated', { runId: 'r1', kind: 'train', status: 'running' })
      await eventually(() => runs.length === 1)
      off()
      await bus.publish('runs.updated', { runId: 'r2', kind: 'train', status: 'running' })
      await new Promise((resolve) => setTimeout(resolve, 200))
      assert.deepEqual(runs, ['r1'])
    })

    it('never lets a failing handler break publishing or other subscribers', async () => {
      const got: number[] = []
      const offBad = bus.subscribe('readings.stored', () => {
        throw new Error('boom')
      })
      const offGood = bus.subscribe('readings.stored', (m) => void got.push(m.readings[0]!.value))
      await bus.publish('readings.stored', reading('d2', 42))
      await eventually(() => got.length === 1)
      assert.deepEqual(got, [42])
      offBad()
      offGood()
    })
  })
}
