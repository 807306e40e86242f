/**
 * Bad input over the real server: each gets its 4xx and `{"error":{"code","message"}}`, nothing of it is
 * stored, and what was sent is kept in `rejected` with the reason. Also 401, 413, 429 and 404; never 500.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { type ApiFixture, lakeText, openApiFixture } from './api-fixture.js'

let f: ApiFixture
let headers: Record<string, string>
let releaseSlow: () => void = () => {}
let slowStarted: Promise<void> = Promise.resolve()

before(async () => {
  f = await openApiFixture({
    config: { bodyLimitBytes: 4096 },
    server: { maxInFlight: 1 },
    extraRoutes: [
      // A route that holds its request until the test releases it, to fill the server deterministically.
      (app: FastifyInstance) => {
        app.get('/test/slow', async () => {
          await new Promise<void>((resolve) => {
            releaseSlow = resolve
            startedResolve()
          })
          return { done: true }
        })
      },
    ],
  })
  headers = { 'x-api-key': f.key, 'content-type': 'application/json' }
})
after(() => f.close())

let startedResolve: () => void = () => {}

async function nothingStored(): Promise<void> {
  assert.equal(await f.store.countReadings(), 0, 'no reading stored')
  assert.equal(await lakeText(f.lake, 'bronze/'), '', 'nothing in bronze')
}

const ts = '"Tue, 07 Feb 2023 11:29:19 GMT"'
const BAD_PUTS: Array<[string, string, string, RegExp]> = [
  ['broken JSON', '{"devid":"d1","ts":', 'BAD_REQUEST', /not valid JSON/],
  ['an empty body', '', 'BAD_REQUEST', /empty/],
  ['a missing devid', `{"ts":${ts},"readings":[1,2,3,4,5,6,7]}`, 'READING_INVALID', /"devid" is missing/],
  ['a missing ts', '{"devid":"d1","readings":[1,2,3,4,5,6,7]}', 'READING_INVALID', /"ts" is missing/],
  ['missing readings', `{"devid":"d1","ts":${ts}}`, 'READING_INVALID', /"readings" is missing/],
  [
    '6 readings',
    `{"devid":"d1","ts":${ts},"readings":[1,21,40,101,50,600]}`,
    'READING_INVALID',
    /7 numbers.*got 6 values/,
  ],
  [
    '8 readings',
    `{"devid":"d1","ts":${ts},"readings":[1,21,40,101,50,600,1,2]}`,
    'READING_INVALID',
    /7 numbers.*got 8 values/,
  ],
  [
    'readings not a list',
    `{"devid":"d1","ts":${ts},"readings":"1,2"}`,
    'READING_INVALID',
    /list of 7 numbers/,
  ],
  [
    'a non-number',
    `{"devid":"d1","ts":${ts},"readings":[1,21,"warm",101,50,600,1]}`,
    'READING_INVALID',
    /readings\[2\] \(humidity\)/,
  ],
  [
    'a null value',
    `{"devid":"d1","ts":${ts},"readings":[1,21,null,101,50,600,1]}`,
    'READING_INVALID',
    /finite number/,
  ],
  [
    'a boolean value',
    `{"devid":"d1","ts":${ts},"readings":[1,true,40,101,50,600,1]}`,
    'READING_INVALID',
    /finite number/,
  ],
  [
    'an unparsable ts',
    '{"devid":"d1","ts":"yesterday","readings":[1,21,40,101,50,600,1]}',
    'TIME_INVALID',
    /RFC 1123/,
  ],
  [
    'a ts in ms',
    '{"devid":"d1","ts":1675769359000,"readings":[1,21,40,101,50,600,1]}',
    'TIME_INVALID',
    /unix seconds/,
  ],
  [
    'a device id with a space',
    `{"devid":"d 1","ts":${ts},"readings":[1,21,40,101,50,600,1]}`,
    'READING_INVALID',
    /devid must be 1–64/,
  ],
  [
    'an empty device id',
    `{"devid":"","ts":${ts},"readings":[1,21,40,101,50,600,1]}`,
    'READING_INVALID',
    /devid must be 1–64/,
  ],
  [
    'a 65-character device id',
    `{"devid":"${'a'.repeat(65)}","ts":${ts},"readings":[1,21,40,101,50,600,1]}`,
    'READING_INVALID',
    /devid/,
  ],
  [
    'a device id with a slash',
    `{"devid":"a/b","ts":${ts},"readings":[1,21,40,101,50,600,1]}`,
    'READING_INVALID',
    /devid/,
  ],
  ['an array body', '[1,2,3]', 'READING_INVALID', /JSON object/],
  ['a string body', '"hello"', 'READING_INVALID', /JSON object/],
]

describe('PUT /sensorsdata with bad input', () => {
  for (const [what, payload, code, message] of BAD_PUTS) {
    test(`${what}: 400 ${code}, nothing stored, kept in rejected`, async () => {
      const before = await f.store.countRejections()
      const response = await f.app.inject({ method: 'PUT', url: '/sensorsdata', headers, payload })
      assert.equal(response.statusCode, 400, response.body)
      const body = response.json()
      assert.equal(body.error.code, code)
      assert.match(body.error.message, message)
      await nothingStored()
      assert.equal(await f.store.countRejections(), before + 1)
      const [kept] = await f.store.listRejections({ limit: 1 })
      assert.equal(kept?.payload, payload)
      assert.equal(kept?.reason, body.error.message)
      assert.equal(kept?.source, 'http')
    })
  }

  test('JSON under another content type is read; XML is answered 400 and kept', async () => {
    const xml = '<reading devid="d1"/>'
    const response = await f.app.inject({
      method: 'PUT',
      url: '/sensorsdata',
      headers: { ...headers, 'content-type': 'application/xml' },
      payload: xml,
    })
    assert.equal(response.statusCode, 400)
    assert.equal((await f.store.listRejections({ limit: 1 }))[0]?.payload, xml)
    await nothingStored()
  })

  test('a body over the limit is 413 PAYLOAD_TOO_LARGE and stores nothing', async () => {
    const payload = `{"devid":"d1","ts":${ts},"readings":[1,21,40,101,50,600,1],"pad":"${'x'.repeat(5000)}"}`
    for (const url of ['/sensorsdata', '/sensorsdata/batch']) {
      const response = await f.app.inject({
        method: url.endsWith('batch') ? 'POST' : 'PUT',
        url,
        headers,
        payload,
      })
      assert.equal(response.statusCode, 413)
      assert.equal(response.json().error.code, 'PAYLOAD_TOO_LARGE')
      assert.match(response.json().error.message, /4 KiB/)
    }
    await nothingStored()
  })
})

describe('POST /sensorsdata/batch with bad input', () => {
  for (const [what, payload] of [
    ['broken JSON', '[{"devid":"d1"},'],
    ['an empty array', '[]'],
    ['a number', '42'],
    ['an empty body', ''],
  ]) {
    test(`${what}: 400, nothing stored, kept in rejected`, async () => {
      const before = await f.store.countRejections()
      const response = await f.app.inject({ method: 'POST', url: '/sensorsdata/batch', headers, payload })
      assert.equal(response.statusCode, 400, response.body)
      assert.equal(response.json().error.code, 'BAD_REQUEST')
      await nothingStored()
      assert.equal(await f.store.countRejections(), before + 1)
    })
  }

  test('a batch of only bad items stores nothing and reports each', async () => {
    const response = await f.app.inject({
      method: 'POST',
      url: '/sensorsdata/batch',
      headers,
      payload:
        '[{"devid":"d1","ts":"never","readings":[1,2,3,4,5,6,7]},{"time":1,"device":"d 2","measure":"iaq","value":1}]',
    })
    assert.equal(response.statusCode, 200)
    assert.deepEqual(
      response.json().errors.map((e: { index: number; code: string }) => [e.index, e.code]),
      [
        [0, 'TIME_INVALID'],
        [1, 'READING_INVALID'],
      ],
    )
    assert.equal(response.json().stored, 0)
    await nothingStored()
  })
})

describe('GET query parameters', () => {
  for (const [what, query, message] of [
    ['to before from', 'device=d1&from=200&to=100', /before from/],
    ['a fractional from', 'device=d1&from=1.5', /"from" must be integer/],
    ['a word for to', 'device=d1&to=tomorrow', /"to" must be integer/],
    ['a negative from', 'device=d1&from=-5', /"from" must be >= 0/],
    ['no device', 'from=1', /"device" is missing/],
    ['a bad device id', 'device=a%20b', /"device" has the wrong form/],
    ['limit 0', 'device=d1&limit=0', /"limit" must be >= 1/],
    ['limit too large', 'device=d1&limit=10001', /"limit" must be <= 10000/],
    ['a forged token', 'device=d1&nextToken=abc', /nextToken/],
  ] as const) {
    test(`${what}: 400 PARAMETER_INVALID`, async () => {
      for (const route of ['/sensorsdata', '/predictions']) {
        const response = await f.app.inject({ method: 'GET', url: `${route}?${query}`, headers })
        assert.equal(response.statusCode, 400, response.body)
        assert.equal(response.json().error.code, 'PARAMETER_INVALID')
        assert.match(response.json().error.message, message)
      }
    })
  }

  test('a token of another query (another device) is refused, not followed', async () => {
    await f.store.writeReadings(
      [0, 1, 2].map((m) => ({
        deviceId: 'tok',
        time: Date.UTC(2023, 0, 1, 0, m),
        measure: 'iaq',
        value: m,
        source: 'test',
      })),
    )
    const first = (
      await f.app.inject({ method: 'GET', url: '/sensorsdata?device=tok&limit=1', headers })
    ).json()
    assert.ok(first.ExecutionInfo.NextToken)
    const other = await f.app.inject({
      method: 'GET',
      url: `/sensorsdata?device=tok2&limit=1&nextToken=${first.ExecutionInfo.NextToken}`,
      headers,
    })
    assert.equal(other.statusCode, 400)
    assert.match(other.json().error.message, /another query/)
    await f.store.deleteReadingsBefore(Date.UTC(2100, 0, 1))
  })
})

describe('API keys on every route', () => {
  const protectedRoutes: Array<[string, string]> = [
    ['PUT', '/sensorsdata'],
    ['POST', '/sensorsdata/batch'],
    ['GET', '/sensorsdata?device=d1'],
    ['GET', '/sensorsdata/sensors'],
    ['GET', '/predictions?device=d1'],
    ['GET', '/events'],
    ['GET', '/test/slow'],
  ]
  for (const [method, url] of protectedRoutes) {
    test(`${method} ${url}: 401 without a key and with a wrong one`, async () => {
      for (const key of [undefined, 'wrong', `${f.key}x`, f.key.slice(0, -1)]) {
        const response = await f.app.inject({
          method: method as 'GET',
          url,
          headers:
            key === undefined
              ? { 'content-type': 'application/json' }
              : { 'x-api-key': key, 'content-type': 'application/json' },
          payload:
            method === 'GET' ? undefined : '{"devid":"d1","ts":1675769359,"readings":[1,21,40,101,50,600,1]}',
        })
        assert.equal(response.statusCode, 401, `${method} ${url} with ${key}`)
        assert.equal(response.json().error.code, 'UNAUTHORIZED')
        assert.match(response.json().error.message, /airlake keys create/)
      }
    })
  }

  test('health, metrics, docs and the front page need no key', async () => {
    for (const url of ['/healthz', '/readyz', '/metrics', '/openapi.json', '/docs/']) {
      assert.equal((await f.app.inject({ method: 'GET', url })).statusCode, 200, url)
    }
  })

  test('an unknown route is a JSON 404', async () => {
    const response = await f.app.inject({ method: 'GET', url: '/nowhere', headers })
    assert.equal(response.statusCode, 404)
    assert.equal(response.json().error.code, 'NOT_FOUND')
  })

  test('nothing was stored by refused requests', nothingStored)
})

describe('overload', () => {
  test('beyond maxInFlight requests get 429 OVERLOADED with Retry-After; health still answers; then work resumes', async () => {
    slowStarted = new Promise<void>((resolve) => {
      startedResolve = resolve
    })
    const slow = f.app.inject({ method: 'GET', url: '/test/slow', headers })
    await slowStarted
    const refused = await f.app.inject({
      method: 'PUT',
      url: '/sensorsdata',
      headers,
      payload: '{"devid":"busy","ts":1675769359,"readings":[1,21,40,101,50,600,1]}',
    })
    assert.equal(refused.statusCode, 429)
    assert.equal(refused.json().error.code, 'OVERLOADED')
    assert.equal(refused.headers['retry-after'], '1')
    assert.equal((await f.app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200)
    assert.equal(await f.store.countReadings(), 0)

    releaseSlow()
    assert.equal((await slow).statusCode, 200)
    const accepted = await f.app.inject({
      method: 'PUT',
      url: '/sensorsdata',
      headers,
      payload: '{"devid":"busy","ts":1675769359,"readings":[1,21,40,101,50,600,1]}',
    })
    assert.equal(accepted.statusCode, 201)
    assert.match(
      (await f.app.inject({ method: 'GET', url: '/metrics' })).body,
      /^airlake_http_requests_shed_total [1-9]/m,
    )
  })
})

test('no bad input produces a 500', async () => {
  const bodies = [
    '\u0000\u0001\u0002',
    '{"devid":{"a":1},"ts":1,"readings":[1,2,3,4,5,6,7]}',
    '{"devid":"d1","ts":[1],"readings":[1,2,3,4,5,6,7]}',
    '{"devid":"d1","ts":1e400,"readings":[1,2,3,4,5,6,7]}',
    '{"devid":"d1","ts":1675769359,"readings":[1,1e400,3,4,5,6,7]}',
    `${'['.repeat(5000)}${']'.repeat(5000)}`.slice(0, 4000),
    '{"__proto__":{"polluted":true},"devid":"d1","ts":1675769359,"readings":[1,21,40,101,50,600,1]}',
    '{"devid":"d1","ts":"Tue, 31 Feb 2023 11:29:19 GMT","readings":[1,21,40,101,50,600,1]}',
    '{"devid":"d1","ts":"2023-13-45T99:99:99Z","readings":[1,21,40,101,50,600,1]}',
    'null',
    'true',
    '{}',
  ]
  for (const payload of bodies) {
    for (const [method, url] of [
      ['PUT', '/sensorsdata'],
      ['POST', '/sensorsdata/batch'],
    ] as const) {
      const response = await f.app.inject({ method, url, headers, payload })
      assert.ok(
        response.statusCode < 500,
        `${method} ${url} ${JSON.stringify(payload.slice(0, 40))}: ${response.statusCode} ${response.body}`,
      )
      assert.ok(response.json().error || response.json().received !== undefined)
    }
  }
  for (const query of [
    'device=d1&measure=',
    'device=d1&measure=1abc',
    'device=d1&limit=abc',
    'device=d1&from=1e30',
    'device=&from=1',
  ]) {
    const response = await f.app.inject({ method: 'GET', url: `/sensorsdata?${query}`, headers })
    assert.ok(response.statusCode < 500, `${query}: ${response.body}`)
  }
  assert.equal(({} as Record<string, unknown>).polluted, undefined)
})
