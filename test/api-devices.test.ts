/** `GET /devices`: every device that sent readings, with its source and first and last seen times. */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { type ApiFixture, openApiFixture } from './api-fixture.js'

let f: ApiFixture
before(async () => {
  f = await openApiFixture()
})
after(() => f.close())

test('devices are listed with their source and seen times once they send readings', async () => {
  const headers = { 'x-api-key': f.key, 'content-type': 'application/json' }
  const empty = await f.app.inject({ method: 'GET', url: '/devices', headers })
  assert.equal(empty.statusCode, 200)
  assert.deepEqual(empty.json(), { devices: [] })

  for (const [devid, ts] of [
    ['kitchen-1', '2026-11-23T10:00:00Z'],
    ['kitchen-1', '2026-11-23T10:05:30Z'],
    ['attic', '2026-11-23T09:00:00Z'],
  ] as const) {
    const put = await f.app.inject({
      method: 'PUT',
      url: '/sensorsdata',
      headers,
      payload: { devid, ts, readings: [1, 21.5, 45.2, 100.9, 52, 620, 0.4] },
    })
    assert.equal(put.statusCode, 201, put.body)
  }
  const listed = await f.app.inject({ method: 'GET', url: '/devices', headers })
  const { devices } = listed.json() as { devices: Array<Record<string, string>> }
  assert.deepEqual(
    devices.map((d) => d.id),
    ['attic', 'kitchen-1'],
  )
  const kitchen = devices.find((d) => d.id === 'kitchen-1')!
  assert.equal(kitchen.source, 'http')
  assert.equal(kitchen.firstSeen, '2026-11-23T10:00:00.000Z')
  assert.equal(kitchen.lastSeen, '2026-11-23T10:05:00.000Z', 'time truncated to the minute')
  assert.equal((await f.app.inject({ method: 'GET', url: '/devices' })).statusCode, 401)
})
