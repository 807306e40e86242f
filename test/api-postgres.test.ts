/**
 * The readings API on PostgreSQL (DATABASE_URL=postgres://…): what a device sends comes back in the seed's
 * envelope, paging serves every row once while writes go on, batches load, bad input stores nothing and is
 * kept in `rejected`. The same behaviour test/api-readings.test.ts checks on the embedded store.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { type ApiFixture, openApiFixture } from './api-fixture.js'
import { POSTGRES_URL, skipUnless } from './support/services.js'

const skip = await skipUnless('PostgreSQL', 5432)
const MINUTE = 60_000
const T0 = Date.UTC(2023, 1, 7, 11, 29)
const VENDOR_BODY =
  '{"devid":"7BB92D02D696C5C5","id":630538,"readings":[1,25.2173,51.5724,100.9000,132,862.3662,1.1371],"ts":"Tue, 07 Feb 2023 11:29:19 GMT"}'

interface Envelope {
  Records: string[][]
  Metadata: { ColumnName: string[] }
  ExecutionInfo: { NextToken: string | null }
}

describe('the readings API on PostgreSQL', { skip }, () => {
  let f: ApiFixture
  let headers: Record<string, string>
  before(async () => {
    f = await openApiFixture({ store: { kind: 'postgres', url: POSTGRES_URL } })
    headers = { 'x-api-key': f.key, 'content-type': 'application/json' }
  })
  after(() => f?.close())

  const get = async (url: string): Promise<Envelope> => {
    const response = await f.app.inject({ method: 'GET', url, headers })
    assert.equal(response.statusCode, 200, response.body)
    return response.json()
  }

  test('a vendor reading PUT comes back from GET in the seed envelope; a repeat replaces it', async () => {
    const put = await f.app.inject({ method: 'PUT', url: '/sensorsdata', headers, payload: VENDOR_BODY })
    assert.equal(put.statusCode, 201, put.body)
    assert.equal(put.json().stored, 6)
    const again = VENDOR_BODY.replace('132,', '140,').replace('11:29:19', '11:29:58')
    assert.equal(
      (await f.app.inject({ method: 'PUT', url: '/sensorsdata', headers, payload: again })).statusCode,
      201,
    )
    const body = await get(`/sensorsdata?device=7BB92D02D696C5C5&from=${T0 / 1000 - 60}&to=${T0 / 1000 + 60}`)
    assert.deepEqual(body.Records, [
      ['2023-02-07 11:29:00.000000000', '25.2173', '51.5724', '100.9', '140', '862.3662', '1.1371'],
    ])
    assert.deepEqual(body.Metadata.ColumnName, [
      'time',
      'temperature',
      'humidity',
      'pressure',
      'iaq',
      'co2',
      'voc',
    ])
    assert.equal(body.ExecutionInfo.NextToken, null)
    assert.deepEqual((await get('/sensorsdata/sensors')).Records, [['7BB92D02D696C5C5']])
  })

  test('NextToken pages through every minute exactly once while new readings keep arriving', async () => {
    const device = 'pg-pager'
    const minutes = 40
    const line = (m: number, value: number) =>
      JSON.stringify({ time: (T0 + m * MINUTE) / 1000, device, measure: 'iaq', value })
    const load = await f.app.inject({
      method: 'POST',
      url: '/sensorsdata/batch',
      headers: { ...headers, 'content-type': 'application/x-ndjson' },
      payload: Array.from({ length: minutes }, (_, m) => line(m, m)).join('\n'),
    })
    assert.equal(load.json().stored, minutes)
    const served: string[] = []
    let token: string | null = null
    let arrivals = 0
    do {
      // A newer minute and a rewrite of an older one arrive between every two pages.
      const writes = [line(1000 + arrivals, 1), line(arrivals % minutes, 99)]
      arrivals++
      const [page]: [Envelope, unknown] = await Promise.all([
        get(`/sensorsdata?device=${device}&limit=6${token ? `&nextToken=${token}` : ''}`),
        f.app.inject({
          method: 'POST',
          url: '/sensorsdata/batch',
          headers,
          payload: `[${writes.join(',')}]`,
        }),
      ])
      served.push(...page.Records.map((r) => r[0]!))
      token = page.ExecutionInfo.NextToken
    } while (token !== null)
    assert.equal(new Set(served).size, served.length, 'no minute served twice')
    const original = Array.from({ length: minutes }, (_, m) =>
      new Date(T0 + m * MINUTE).toISOString().replace('T', ' ').replace('Z', '000000'),
    )
    for (const minute of original) assert.ok(served.includes(minute), `${minute} was served`)
    assert.deepEqual(served, [...served].sort().reverse(), 'newest first')
  })

  test('bad input is a 400 that stores nothing and is kept in rejected with its reason', async () => {
    const count = await f.store.countReadings()
    const rejections = await f.store.countRejections()
    for (const payload of [
      '{"devid":"d1","ts":',
      '{"devid":"d1","ts":1675769359,"readings":[1,21,40,101,50,600]}',
      '{"devid":"d 1","ts":1675769359,"readings":[1,21,40,101,50,600,1]}',
      '{"devid":"d1","ts":"yesterday","readings":[1,21,40,101,50,600,1]}',
    ]) {
      const response = await f.app.inject({ method: 'PUT', url: '/sensorsdata', headers, payload })
      assert.equal(response.statusCode, 400, payload)
      assert.ok(response.json().error.code && response.json().error.message)
      const [kept] = await f.store.listRejections({ limit: 1 })
      assert.equal(kept?.payload, payload)
      assert.equal(kept?.reason, response.json().error.message)
    }
    assert.equal(await f.store.countReadings(), count)
    assert.equal(await f.store.countRejections(), rejections + 4)
    const wrongRange = await f.app.inject({
      method: 'GET',
      url: '/sensorsdata?device=d1&from=200&to=100',
      headers,
    })
    assert.equal(wrongRange.statusCode, 400)
  })
})
