/**
 * A loopback HTTP server that answers like OpenAQ API v3 (reference/openaq-v3.md): `X-API-Key`, 410 for
 * v1/v2, `/v3/locations/{id}` with sensors, `/v3/sensors/{id}/hours` paged with `limit`/`page` and
 * `meta.found` (as a number, a string or ">N"), rate-limit headers on every answer, 429 with
 * `retry-after`/`x-ratelimit-reset`, 422 validation errors. Switches make answers fail on demand.
 * Used by the source tests, the demo and the end-to-end tests.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface FakeOpenaqSensor {
  id: number
  parameter: { id: number; name: string; units: string; displayName: string | null }
}

export interface FakeOpenaqLocation {
  id: number
  name: string
  sensors: FakeOpenaqSensor[]
  coordinates?: { latitude: number; longitude: number }
}

/** `last-allowed`: a normal answer that uses up the window (`x-ratelimit-remaining: 0`, reset in `retryAfterSeconds`). */
export type OpenaqFailure = '429' | '500' | 'garbage' | 'timeout' | 'last-allowed'

export interface FakeOpenaqServer {
  /** `http://127.0.0.1:<port>` (the client adds `/v3`). */
  url: string
  apiKey: string
  /** Paths with query of every request received. */
  requests: string[]
  addLocation(location: FakeOpenaqLocation): void
  /** Adds hourly values to a sensor: `count` hours from `from` (ms, on the hour); `value(i)` null for a missing one. */
  addHours(sensorId: number, from: number, count: number, value: (i: number) => number | null): void
  /** How `meta.found` is sent: a number, a numeric string, or ">N" when more than a page remains. */
  foundStyle: 'number' | 'string' | 'gt'
  /** Queues failures for the next requests. A 429 carries `retry-after` unless `resetOnly`. */
  failNext(
    failure: OpenaqFailure,
    times?: number,
    options?: { retryAfterSeconds?: number; resetOnly?: boolean },
  ): void
  /** Requests that reached a handler after each 429 (for checking the client waited and came back). */
  rateLimited: number
  close(): Promise<void>
}

/** A PM2.5 location like the reference's skeleton: id 2178, PM2.5 sensor 3917 and an NO2 sensor 3918. */
export const DEFAULT_LOCATION: FakeOpenaqLocation = {
  id: 2178,
  name: 'Del Norte',
  coordinates: { latitude: 35.1353, longitude: -106.5847 },
  sensors: [
    { id: 3918, parameter: { id: 7, name: 'no2', units: 'ppm', displayName: 'NO₂' } },
    { id: 3917, parameter: { id: 2, name: 'pm25', units: 'µg/m³', displayName: 'PM2.5' } },
  ],
}

export async function startFakeOpenaqServer(
  options: { apiKey?: string; location?: FakeOpenaqLocation | null } = {},
): Promise<FakeOpenaqServer> {
  const apiKey = options.apiKey ?? 'openaq-test-key'
  const locations = new Map<number, FakeOpenaqLocation>()
  const hours = new Map<number, Array<{ time: number; value: number | null }>>()
  const failures: Array<{ failure: OpenaqFailure; retryAfterSeconds: number; resetOnly: boolean }> = []
  const requests: string[] = []
  const hanging = new Set<ServerResponse>()
  let used = 0

  const meta = (page: number, limit: number, found: number | string) => ({
    name: 'openaq-api',
    website: '/',
    page,
    limit,
    found,
  })
  let exhausted: Record<string, string> = {}
  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    used++
    res.writeHead(status, {
      'content-type': 'application/json',
      'x-ratelimit-limit': '60',
      'x-ratelimit-used': String(used),
      'x-ratelimit-remaining': String(Math.max(1, 60 - used)),
      'x-ratelimit-reset': '1',
      ...exhausted,
      ...headers,
    })
    exhausted = {}
    res.end(JSON.stringify(body))
  }
  const validation = (res: ServerResponse, loc: string, msg: string) =>
    send(res, 422, { detail: [{ loc: ['query', loc], msg, type: 'value_error' }] })

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://localhost')
    requests.push(`${url.pathname}${url.search}`)
    const failure = failures.shift()
    if (failure?.failure === 'timeout') {
      hanging.add(res)
      res.on('close', () => hanging.delete(res))
      return
    }
    if (failure?.failure === '429') {
      server.rateLimited++
      return send(
        res,
        429,
        { message: 'Too Many Requests' },
        {
          'x-ratelimit-remaining': '0',
          'x-ratelimit-reset': String(failure.retryAfterSeconds),
          ...(failure.resetOnly ? {} : { 'retry-after': String(failure.retryAfterSeconds) }),
        },
      )
    }
    if (failure?.failure === 'last-allowed') {
      exhausted = { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(failure.retryAfterSeconds) }
    }
    if (failure?.failure === '500') return send(res, 500, { message: 'Internal Server Error' })
    if (failure?.failure === 'garbage') {
      res.writeHead(200, { 'content-type': 'application/json' })
      return res.end('{"meta":{"found":')
    }
    if (/^\/v[12]\//.test(url.pathname))
      return send(res, 410, { message: 'Gone. Version 1 and Version 2 API endpoints are retired.' })
    if (req.headers['x-api-key'] !== apiKey)
      return send(res, 401, {
        detail: 'Unauthorized. A valid API key must be provided in the X-API-Key header.',
      })

    const location = /^\/v3\/locations\/(\d+)$/.exec(url.pathname)
    if (location) {
      const found = locations.get(Number(location[1]))
      if (!found) return send(res, 404, { detail: 'Location not found' })
      return send(res, 200, {
        meta: meta(1, 100, 1),
        results: [
          {
            id: found.id,
            name: found.name,
            locality: 'Albuquerque',
            timezone: 'America/Denver',
            country: { id: 155, code: 'US', name: 'United States' },
            provider: { id: 119, name: 'AirNow' },
            isMobile: false,
            isMonitor: true,
            sensors: found.sensors,
            coordinates: found.coordinates ?? { latitude: 0, longitude: 0 },
            datetimeFirst: { utc: '2016-03-06T19:00:00Z', local: '2016-03-06T12:00:00-07:00' },
            datetimeLast: { utc: '2024-06-01T00:00:00Z', local: '2024-05-31T18:00:00-06:00' },
          },
        ],
      })
    }
    const sensorHours = /^\/v3\/sensors\/(\d+)\/hours$/.exec(url.pathname)
    if (sensorHours) {
      const sensorId = Number(sensorHours[1])
      const parameter = [...locations.values()]
        .flatMap((l) => l.sensors)
        .find((s) => s.id === sensorId)?.parameter
      if (!parameter) return send(res, 404, { detail: 'Sensor not found' })
      const limit = Number(url.searchParams.get('limit') ?? 100)
      const page = Number(url.searchParams.get('page') ?? 1)
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
        return validation(res, 'limit', 'Input should be less than or equal to 1000')
      if (!Number.isInteger(page) || page < 1)
        return validation(res, 'page', 'Input should be greater than or equal to 1')
      const from = Date.parse(url.searchParams.get('datetime_from') ?? '1970-01-01T00:00:00Z')
      const to = Date.parse(url.searchParams.get('datetime_to') ?? '2200-01-01T00:00:00Z')
      if (!Number.isFinite(from) || !Number.isFinite(to))
        return validation(res, 'datetime_from', 'Input should be a valid datetime')
      const all = (hours.get(sensorId) ?? [])
        .filter((h) => h.time >= from && h.time < to)
        .sort((a, b) => a.time - b.time)
      const slice = all.slice((page - 1) * limit, page * limit)
      const found =
        server.foundStyle === 'number'
          ? all.length
          : server.foundStyle === 'string'
            ? String(all.length)
            : all.length > page * limit
              ? `>${page * limit}`
              : all.length
      return send(res, 200, {
        meta: meta(page, limit, found),
        results: slice.map((h) => hourResult(h.time, h.value, parameter)),
      })
    }
    return send(res, 404, { detail: 'Not Found' })
  }

  const server = Object.assign(createServer(handle), { rateLimited: 0 }) as Server & {
    rateLimited: number
    foundStyle: FakeOpenaqServer['foundStyle']
  }
  server.foundStyle = 'number'
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  if (options.location !== null)
    locations.set((options.location ?? DEFAULT_LOCATION).id, options.location ?? DEFAULT_LOCATION)

  return {
    url: `http://127.0.0.1:${port}`,
    apiKey,
    requests,
    get foundStyle() {
      return server.foundStyle
    },
    set foundStyle(style) {
      server.foundStyle = style
    },
    get rateLimited() {
      return server.rateLimited
    },
    addLocation(location) {
      locations.set(location.id, location)
    },
    addHours(sensorId, from, count, value) {
      const list = hours.get(sensorId) ?? []
      for (let i = 0; i < count; i++) list.push({ time: from + i * 3_600_000, value: value(i) })
      hours.set(sensorId, list)
    },
    failNext(failure, times = 1, opts = {}) {
      for (let i = 0; i < times; i++)
        failures.push({
          failure,
          retryAfterSeconds: opts.retryAfterSeconds ?? 1,
          resetOnly: opts.resetOnly ?? false,
        })
    },
    async close() {
      for (const res of hanging) res.destroy()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

function hourResult(time: number, value: number | null, parameter: FakeOpenaqSensor['parameter']) {
  const iso = (t: number) => new Date(t).toISOString().replace('.000Z', 'Z')
  const local = (t: number) => new Date(t).toISOString().replace('.000Z', '+00:00')
  return {
    value,
    flagInfo: { hasFlags: false },
    parameter,
    period: {
      label: '1hour',
      interval: '01:00:00',
      datetimeFrom: { utc: iso(time), local: local(time) },
      datetimeTo: { utc: iso(time + 3_600_000), local: local(time + 3_600_000) },
    },
    summary:
      value === null
        ? null
        : {
            min: value,
            q02: value,
            q25: value,
            median: value,
            q75: value,
            q98: value,
            max: value,
            avg: value,
            sd: 0,
          },
    coverage: {
      expectedCount: 1,
      observedCount: value === null ? 0 : 1,
      percentComplete: value === null ? 0 : 100,
      percentCoverage: value === null ? 0 : 100,
    },
  }
}
