/**
 * A loopback HTTP server that answers like the indoor-sensor vendor's API (reference/indoor-sensors-api.md):
 * `GET /api/sensor_readings?latest=true`, `?devid&startTs&endTs`, `GET /api/sensor_devices`, Bearer token.
 * Switches make the next answers fail the ways the real one can: 401, 5xx, garbage, a timeout.
 * Used by the source tests, the demo and the end-to-end tests.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface FakeVendorReading {
  devid: string
  id: number
  /** unix ms; sent as RFC 1123 like the real API. */
  time: number
  /** temperature, humidity, pressure, iaq, co2, voc */
  values: [number, number, number, number, number, number]
}

export type VendorFailure = '401' | '500' | '503' | 'garbage' | 'html' | 'timeout' | 'success-false'

export interface FakeVendorServer {
  /** `http://127.0.0.1:<port>` */
  url: string
  token: string
  /** Requests received, by path and query. */
  requests: string[]
  /** Adds a reading; `latest=true` answers each device's newest. */
  addReading(reading: Omit<FakeVendorReading, 'id'> & { id?: number }): FakeVendorReading
  /** Names a device for `/api/sensor_devices`. */
  addDevice(devid: string, name: string): void
  /** The next `times` requests fail this way (queued after earlier failures). */
  failNext(failure: VendorFailure, times?: number): void
  close(): Promise<void>
}

/** Formats `time` like the vendor: `Tue, 07 Feb 2023 11:29:19 GMT`. */
export function vendorTs(time: number): string {
  return new Date(time).toUTCString()
}

export async function startFakeVendorServer(options: { token?: string } = {}): Promise<FakeVendorServer> {
  const token = options.token ?? 'vendor-test-token'
  const readings: FakeVendorReading[] = []
  const devices = new Map<string, string>()
  const failures: VendorFailure[] = []
  const requests: string[] = []
  const hanging = new Set<ServerResponse>()
  let nextId = 630_000

  const send = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' })
    res.end(JSON.stringify(body))
  }
  const wire = (r: FakeVendorReading, flag: number) => ({
    devid: r.devid,
    id: r.id,
    readings: [flag, ...r.values],
    ts: vendorTs(r.time),
  })

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://localhost')
    requests.push(`${url.pathname}${url.search}`)
    const failure = failures.shift()
    if (failure === 'timeout') {
      hanging.add(res)
      res.on('close', () => hanging.delete(res))
      return
    }
    if (failure === '401' || req.headers.authorization !== `Bearer ${token}`) {
      return send(res, 401, { msg: 'Token has expired', success: false })
    }
    if (failure === '500' || failure === '503') return send(res, Number(failure), { error: 'internal error' })
    if (failure === 'garbage') {
      res.writeHead(200, { 'content-type': 'application/json' })
      return res.end('{"readings":[{"devid":"7BB9')
    }
    if (failure === 'html') {
      res.writeHead(200, { 'content-type': 'text/html' })
      return res.end('<html><body>Bad gateway</body></html>')
    }
    if (failure === 'success-false') return send(res, 200, { success: false, msg: 'database unavailable' })

    if (url.pathname === '/api/sensor_devices') {
      const ids = new Set([...devices.keys(), ...readings.map((r) => r.devid)])
      return send(res, 200, {
        devices: [...ids]
          .sort()
          .map((devid, i) => ({ devid, name: devices.get(devid) ?? devid, rloc16: 1024 + i })),
        success: true,
      })
    }
    if (url.pathname !== '/api/sensor_readings') return send(res, 404, { msg: 'not found', success: false })
    if (url.searchParams.get('latest') === 'true') {
      const latest = new Map<string, FakeVendorReading>()
      for (const r of readings) if ((latest.get(r.devid)?.time ?? -1) <= r.time) latest.set(r.devid, r)
      return send(res, 200, { readings: [...latest.values()].map((r) => wire(r, 1)), success: true })
    }
    const devid = url.searchParams.get('devid')
    const from = Number(url.searchParams.get('startTs')) * 1000
    const to = Number(url.searchParams.get('endTs')) * 1000
    if (!devid || !Number.isFinite(from) || !Number.isFinite(to))
      return send(res, 400, { msg: 'devid, startTs and endTs are required', success: false })
    const rows = readings
      .filter((r) => r.devid === devid && r.time >= from && r.time <= to)
      .sort((a, b) => a.time - b.time)
    return send(res, 200, {
      readings: rows.map((r, i) => ({ ...wire(r, 0), row_number: i + 1 })),
      success: true,
    })
  }

  const server: Server = createServer(handle)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo

  return {
    url: `http://127.0.0.1:${port}`,
    token,
    requests,
    addReading(input) {
      const reading = { ...input, id: input.id ?? nextId++ }
      readings.push(reading)
      return reading
    },
    addDevice(devid, name) {
      devices.set(devid, name)
    },
    failNext(failure, times = 1) {
      for (let i = 0; i < times; i++) failures.push(failure)
    },
    async close() {
      for (const res of hanging) res.destroy()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
