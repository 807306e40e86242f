/**
 * The readings API end to end over a real DuckDB store, folder lake and in-process bus: what a device
 * sends comes back in the seed's envelope, paging serves every row once, batches load both shapes.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import Fastify from 'fastify'
import { envelopeSchema } from '../src/api/schemas.js'
import type { Reading } from '../src/core/types.js'
import { type ApiFixture, lakeText, openApiFixture } from './api-fixture.js'

const DEVICE = '7BB92D02D696C5C5'
const VENDOR_BODY =
  '{"devid":"7BB92D02D696C5C5","id":630538,\n  "readings":[1,25.2173,51.5724,100.9000,132,862.3662,1.1371],\n  "ts":"Tue, 07 Feb 2023 11:29:19 GMT"}'
const MINUTE = 60_000
const T0 = Date.UTC(2023, 1, 7, 11, 29)

let f: ApiFixture
let headers: Record<string, string>
before(async () => {
  f = await openApiFixture()
  headers = { 'x-api-key': f.key, 'content-type': 'application/json' }
})
after(() => f.close())

function reading(deviceId: string, time: number, measure: string, value: number): Reading {
  return { deviceId, time, measure, value, source: 'test' }
}

describe('PUT /sensorsdata then GET /sensorsdata', () => {
  test('a vendor reading comes back pivoted in the seed envelope, its raw JSON in bronze', async () => {
    const published: unknown[] = []
    const unsubscribe = f.bus.subscribe('readings.stored', (message) => void published.push(message))
    const put = await f.app.inject({ method: 'PUT', url: '/sensorsdata', headers, payload: VENDOR_BODY })
    assert.equal(put.statusCode, 201)
    assert.deepEqual(put.json(), {
      received: 1,
      accepted: 1,
      rejected: 0,
      stored: 6,
      device: DEVICE,
      time: '2023-02-07T11:29:00.000Z',
    })

    const get = await f.app.inject({
      method: 'GET',
      url: `/sensorsdata?from=${T0 / 1000 - 3600}&to=${T0 / 1000 + 3600}&device=${DEVICE}`,
      headers: { 'x-api-key': f.key },
    })
    assert.equal(get.statusCode, 200)
    const envelope = get.json()
    assert.match(
      envelope.ExecutionInfo.LastQueryId,
      /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
    )
    assert.deepEqual(envelope, {
      Records: [
        ['2023-02-07 11:29:00.000000000', '25.2173', '51.5724', '100.9', '132', '862.3662', '1.1371'],
      ],
      Metadata: {
        SourceName: 'airlake',
        SourceType: 'SensorsData',
        SourceFormat: 'Timeserie',
        ColumnName: ['time', 'temperature', 'humidity', 'pressure', 'iaq', 'co2', 'voc'],
        ColumnType: ['timestamp', 'float', 'float', 'float', 'float', 'float', 'float'],
      },
      ExecutionInfo: {
        LastQueryId: envelope.ExecutionInfo.LastQueryId,
        NextTokenConsumed: 0,
        NextToken: null,
      },
    })

    const bronze = (await lakeText(f.lake, 'bronze/http/'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line))
    const line = bronze.find((l) => l.raw === VENDOR_BODY)
    assert.ok(line, 'the exact raw body is in bronze')
    assert.equal(line.rows.length, 6)

    await f.bus.drain()
    unsubscribe()
    assert.equal(published.length, 1, 'readings.stored was published once (it triggers the forecast)')
  })

  test('ts as RFC 1123, ISO 8601 or unix seconds lands on the same minute (the repeat replaces, never duplicates)', async () => {
    const device = 'ts-forms'
    for (const [ts, iaq] of [
      ['"Tue, 07 Feb 2023 11:29:59 GMT"', 10],
      ['"2023-02-07T11:29:30Z"', 20],
      ['1675769345', 30],
      ['"1675769341.5"', 40],
    ] as const) {
      const payload = `{"devid":"${device}","ts":${ts},"readings":[0,21,40,101,${iaq},500,1]}`
      const put = await f.app.inject({ method: 'PUT', url: '/sensorsdata', headers, payload })
      assert.equal(put.statusCode, 201, put.body)
      assert.equal(put.json().time, '2023-02-07T11:29:00.000Z')
    }
    const get = await f.app.inject({
      method: 'GET',
      url: `/sensorsdata?device=${device}&measure=iaq`,
      headers,
    })
    assert.deepEqual(get.json().Records, [['2023-02-07 11:29:00.000000000', '40']])
    assert.deepEqual(get.json().Metadata.ColumnName, ['time', 'iaq'])
    assert.equal(await f.store.countReadings({ deviceId: device }), 6)
  })

  test('measure narrows the columns, in the order asked', async () => {
    const get = await f.app.inject({
      method: 'GET',
      url: `/sensorsdata?device=${DEVICE}&measure=co2,temperature`,
      headers,
    })
    assert.equal(get.statusCode, 200)
    assert.deepEqual(get.json().Metadata.ColumnName, ['time', 'co2', 'temperature'])
    assert.deepEqual(get.json().Records, [['2023-02-07 11:29:00.000000000', '862.3662', '25.2173']])
  })

  test('GET /sensorsdata/sensors lists the device ids', async () => {
    const get = await f.app.inject({ method: 'GET', url: '/sensorsdata/sensors', headers })
    assert.equal(get.statusCode, 200)
    const body = get.json()
    assert.deepEqual(body.Metadata.ColumnName, ['deviceId'])
    assert.deepEqual(body.Metadata.ColumnType, ['str'])
    assert.ok(body.Records.some((record: string[]) => record[0] === DEVICE))
    assert.equal(body.ExecutionInfo.NextToken, null)
  })
})

describe('GET /sensorsdata as text', () => {
  test('answers the very bytes and type the documented response schema writes', async () => {
    const device = 'bytes-1'
    const names = ['iaq', 'we"ird\\name', 'ünïcode', 'emoji 😀', 'tab\tname', '\u2028line']
    const rows: Reading[] = []
    for (let minute = 0; minute < 5; minute++) {
      for (const [i, name] of names.entries()) {
        if ((minute + i) % 4 === 0) continue
        rows.push(reading(device, T0 + minute * MINUTE, name, [1.5, -0, 1e21, 5e-7, 12345.678, 0.1][i]!))
      }
    }
    await f.store.writeReadings(rows)
    const schemaApp = Fastify()
    schemaApp.get('/envelope', { schema: { response: { 200: envelopeSchema } } }, async (request) =>
      JSON.parse(String((request.query as { body: string }).body)),
    )
    try {
      let url = `/sensorsdata?device=${device}&limit=2`
      for (let page = 0; page < 3; page++) {
        const get = await f.app.inject({ method: 'GET', url, headers })
        assert.equal(get.statusCode, 200)
        const viaSchema = await schemaApp.inject({
          method: 'GET',
          url: '/envelope',
          query: { body: get.body },
        })
        assert.equal(get.body, viaSchema.body)
        assert.equal(get.headers['content-type'], viaSchema.headers['content-type'])
        assert.equal(get.headers['content-length'], viaSchema.headers['content-length'])
        const token = get.json().ExecutionInfo.NextToken
        if (token === null) break
        url = `/sensorsdata?device=${device}&limit=2&nextToken=${token}`
      }
    } finally {
      await schemaApp.close()
    }
  })
})

describe('paging', () => {
  const device = 'pager'
  const minutes = 25
  before(async () => {
    const rows: Reading[] = []
    for (let m = 0; m < minutes; m++) {
      for (const measure of ['temperature', 'humidity', 'iaq'])
        rows.push(reading(device, T0 + m * MINUTE, measure, m))
    }
    await f.store.writeReadings(rows)
  })

  async function page(query: string) {
    const response = await f.app.inject({
      method: 'GET',
      url: `/sensorsdata?device=${device}&${query}`,
      headers,
    })
    assert.equal(response.statusCode, 200, response.body)
    return response.json()
  }

  test('limit pages through every time exactly once, newest first', async () => {
    const seen: string[] = []
    let token: string | null = null
    let pages = 0
    do {
      const body = await page(`limit=7${token ? `&nextToken=${token}` : ''}`)
      assert.equal(body.ExecutionInfo.NextTokenConsumed, pages)
      assert.ok(body.Records.length <= 7)
      for (const record of body.Records) {
        assert.equal(record.length, 4)
        seen.push(record[0])
      }
      token = body.ExecutionInfo.NextToken
      pages++
    } while (token !== null)
    assert.equal(pages, 4)
    assert.equal(seen.length, minutes)
    assert.equal(new Set(seen).size, minutes)
    assert.deepEqual(seen, [...seen].sort().reverse())
  })

  test('rows written between pages never make a row repeat or vanish', async () => {
    const first = await page('limit=10')
    const served = first.Records.map((r: string[]) => r[0])
    // New rows at a newer minute, an update of a served minute, and a backfill older than everything.
    await f.store.writeReadings([
      reading(device, T0 + 100 * MINUTE, 'iaq', 1),
      reading(device, T0 + 24 * MINUTE, 'iaq', 99),
      reading(device, T0 - 5 * MINUTE, 'iaq', 7),
    ])
    let token = first.ExecutionInfo.NextToken
    while (token) {
      const next = await page(`limit=10&nextToken=${token}`)
      served.push(...next.Records.map((r: string[]) => r[0]))
      token = next.ExecutionInfo.NextToken
    }
    assert.equal(new Set(served).size, served.length, 'no time served twice')
    const expected = Array.from({ length: minutes }, (_, m) => T0 + m * MINUTE).concat(T0 - 5 * MINUTE)
    assert.deepEqual(
      [...served].sort(),
      expected.map((t) => new Date(t).toISOString().replace('T', ' ').replace('Z', '000000')).sort(),
    )
  })

  test('from and to bound the series, inclusive, in unix seconds', async () => {
    const body = await page(`from=${T0 / 1000 + 120}&to=${T0 / 1000 + 300}`)
    assert.deepEqual(
      body.Records.map((r: string[]) => r[0]),
      [
        '2023-02-07 11:34:00.000000000',
        '2023-02-07 11:33:00.000000000',
        '2023-02-07 11:32:00.000000000',
        '2023-02-07 11:31:00.000000000',
      ],
    )
  })
})

describe('GET /predictions', () => {
  test('answers an empty envelope until forecasts exist, then one column per horizon', async () => {
    const empty = await f.app.inject({ method: 'GET', url: `/predictions?device=${DEVICE}`, headers })
    assert.equal(empty.statusCode, 200)
    assert.deepEqual(empty.json().Records, [])
    assert.equal(empty.json().Metadata.SourceType, 'Predictions')
    assert.equal(empty.json().ExecutionInfo.NextToken, null)

    const issuedAt = T0
    await f.store.writePredictions(
      [1, 2, 10].map((h) => ({
        time: T0 + h * MINUTE,
        deviceId: DEVICE,
        measureName: `iaq~${h}`,
        value: 100 + h,
        modelVersion: 'ridge@1',
        issuedAt,
      })),
    )
    const body = (await f.app.inject({ method: 'GET', url: `/predictions?device=${DEVICE}`, headers })).json()
    assert.deepEqual(body.Metadata.ColumnName, ['time', 'iaq~1', 'iaq~2', 'iaq~10'])
    assert.deepEqual(body.Records, [
      ['2023-02-07 11:39:00.000000000', null, null, '110'],
      ['2023-02-07 11:31:00.000000000', null, '102', null],
      ['2023-02-07 11:30:00.000000000', '101', null, null],
    ])
    const one = (
      await f.app.inject({ method: 'GET', url: `/predictions?device=${DEVICE}&measure=iaq~2`, headers })
    ).json()
    assert.deepEqual(one.Records, [['2023-02-07 11:31:00.000000000', '102']])
  })
})

describe('POST /sensorsdata/batch', () => {
  test('a JSON array of vendor objects and long rows is stored, each raw item kept exactly in bronze', async () => {
    const items = [
      '{"devid":"batch-1","ts":"2023-02-07T12:00:10Z","readings":[1,20,40,101,50,600,0.5]}',
      '{"time":"2023-02-07T12:01:00Z","device":"batch-1","measure":"iaq","value":55}',
      '{ "time": 1675771320, "device": "batch-2", "measure": "pm25", "value": "12.5" }',
    ]
    const response = await f.app.inject({
      method: 'POST',
      url: '/sensorsdata/batch',
      headers,
      payload: `[${items.join(',\n')}]`,
    })
    assert.equal(response.statusCode, 200)
    assert.deepEqual(response.json(), { received: 3, accepted: 3, rejected: 0, stored: 8, errors: [] })
    const bronze = await lakeText(f.lake, 'bronze/http/')
    for (const item of items) assert.ok(bronze.includes(JSON.stringify(item)), `bronze keeps ${item}`)
    const iaq = (
      await f.app.inject({ method: 'GET', url: '/sensorsdata?device=batch-1&measure=iaq', headers })
    ).json()
    assert.deepEqual(iaq.Records, [
      ['2023-02-07 12:01:00.000000000', '55'],
      ['2023-02-07 12:00:00.000000000', '50'],
    ])
  })

  test('NDJSON: good lines are stored, bad ones rejected with their line and reason', async () => {
    const before = await f.store.countRejections()
    const payload = [
      '{"time":"2023-02-07T13:00:00Z","device":"batch-3","measure":"iaq","value":60}',
      '{not json',
      '{"time":"2023-02-07T13:01:00Z","device":"batch-3","measure":"iaq"}',
      '{"time":"2023-02-07T13:02:00Z","device":"batch-3","measure":"humidity","value":130}',
      '',
    ].join('\n')
    const response = await f.app.inject({
      method: 'POST',
      url: '/sensorsdata/batch',
      headers: { ...headers, 'content-type': 'application/x-ndjson' },
      payload,
    })
    assert.equal(response.statusCode, 200)
    const body = response.json()
    assert.equal(body.received, 4)
    assert.equal(body.stored, 1)
    assert.equal(body.rejected, 3)
    assert.deepEqual(
      body.errors.map((e: { index: number; code: string }) => [e.index, e.code]),
      [
        [1, 'BAD_REQUEST'],
        [2, 'READING_INVALID'],
        [3, 'READING_IMPOSSIBLE'],
      ],
    )
    assert.equal((await f.store.countRejections()) - before, 3)
    const kept = await f.store.listRejections({ limit: 3 })
    assert.ok(kept.some((r) => r.payload === '{not json'))
  })
})

describe('operations', () => {
  test('/metrics counts requests, latencies, rows stored and rejected', async () => {
    const response = await f.app.inject({ method: 'GET', url: '/metrics' })
    assert.equal(response.statusCode, 200)
    assert.match(response.headers['content-type'] as string, /^text\/plain/)
    const text = response.body
    assert.match(
      text,
      /^airlake_http_requests_total\{method="PUT",route="\/sensorsdata",status="201"\} \d+$/m,
    )
    assert.match(
      text,
      /^airlake_http_request_duration_seconds_bucket\{method="GET",route="\/sensorsdata",le="\+Inf"\} \d+$/m,
    )
    const stored = /^airlake_readings_stored_total\{source="http"\} (\d+)$/m.exec(text)
    assert.ok(stored && Number(stored[1]) >= 6 + 24 + 8 + 1)
    assert.match(text, /^airlake_rejections_total\{source="http",code="READING_IMPOSSIBLE"\} [1-9]\d*$/m)
  })

  test('/openapi.json is an OpenAPI document of every route, from the validating schemas', async () => {
    const response = await f.app.inject({ method: 'GET', url: '/openapi.json' })
    assert.equal(response.statusCode, 200)
    const doc = response.json()
    assert.match(doc.openapi, /^3\./)
    const documented: Array<[string, string]> = [
      ['/sensorsdata', 'put'],
      ['/sensorsdata', 'get'],
      ['/sensorsdata/batch', 'post'],
      ['/sensorsdata/sensors', 'get'],
      ['/predictions', 'get'],
      ['/events', 'get'],
      ['/healthz', 'get'],
      ['/readyz', 'get'],
      ['/metrics', 'get'],
    ]
    for (const [path, method] of documented) {
      assert.ok(doc.paths[path]?.[method], `${method.toUpperCase()} ${path} is documented`)
    }
    assert.deepEqual(doc.components.securitySchemes.apiKey, {
      type: 'apiKey',
      in: 'header',
      name: 'x-api-key',
    })
    const put = doc.paths['/sensorsdata'].put
    assert.deepEqual(put.requestBody.content['application/json'].schema.required, ['devid', 'ts', 'readings'])
    assert.equal(put.requestBody.content['application/json'].schema.properties.readings.minItems, 7)
    const params = doc.paths['/sensorsdata'].get.parameters.map((p: { name: string }) => p.name)
    assert.deepEqual(params.sort(), ['device', 'from', 'limit', 'measure', 'nextToken', 'to'])
    assert.deepEqual(doc.paths['/healthz'].get.security, [])

    const docs = await f.app.inject({ method: 'GET', url: '/docs/' })
    assert.equal(docs.statusCode, 200)
    assert.match(docs.body, /swagger/i)
  })

  test('the default body limit is 1 MiB: a batch just under it is read, one byte over is 413', async () => {
    const line = '{"time":"2023-03-01T00:00:00Z","device":"limit","measure":"iaq","value":1}'
    const under = `${line}\n${' '.repeat(1024 * 1024 - line.length - 2)}\n`
    const read = await f.app.inject({
      method: 'POST',
      url: '/sensorsdata/batch',
      headers: { ...headers, 'content-type': 'application/x-ndjson' },
      payload: under,
    })
    assert.equal(read.statusCode, 200, read.body)
    assert.equal(read.json().stored, 1)
    const over = await f.app.inject({
      method: 'POST',
      url: '/sensorsdata/batch',
      headers: { ...headers, 'content-type': 'application/x-ndjson' },
      payload: `${under} `,
    })
    assert.equal(over.statusCode, 413)
    assert.equal(over.json().error.code, 'PAYLOAD_TOO_LARGE')
    assert.match(over.json().error.message, /1 MiB/)
  })

  test('/healthz and /readyz answer without a key', async () => {
    assert.deepEqual((await f.app.inject({ method: 'GET', url: '/healthz' })).json().status, 'ok')
    const ready = await f.app.inject({ method: 'GET', url: '/readyz' })
    assert.equal(ready.statusCode, 200)
    assert.deepEqual(ready.json(), { status: 'ready', store: 'duckdb', bus: 'in-process' })
  })
})
