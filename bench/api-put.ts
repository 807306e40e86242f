/**
 * Single `PUT /sensorsdata` over real HTTP: requests/s and p50/p99 latency with 32 keep-alive connections,
 * beside a bare PUT route of the same framework (Fastify, JSON body, 201) in the same process, and beside
 * each of the two durable writes a PUT waits for, alone at the same concurrency: a bare route that appends its
 * reading to bronze (fsync, shared by the requests that arrive meanwhile) before answering, and the store's
 * upsert of the same six rows. The server runs in this process on the embedded store; the load comes from a
 * separate client process (bench/load.ts). Issue 2's target: at least 0.3x the bare route's rate.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Fastify, { type FastifyInstance } from 'fastify'
import { FsLake } from '../src/adapters/fs-lake/fs-lake.js'
import { systemClock } from '../src/core/ports/clock.js'
import { readingsFromVendor } from '../src/core/readings.js'
import { BronzeWriter, bronzeLine } from '../src/pipeline/bronze.js'
import { openApiFixture } from '../test/api-fixture.js'
import { type LoadResult, listen, loadTest } from './load.js'
import { type BenchOptions, type BenchResult, median, quantile } from './types.js'

/** Vendor readings of `devices` devices, one a minute each, as PUT bodies. */
export function vendorBodies(count: number, devices = 200): string[] {
  const start = Date.UTC(2024, 0, 1) / 1000
  return Array.from({ length: count }, (_, i) => {
    const minute = Math.floor(i / devices)
    const values = [1, 21 + (i % 7) / 10, 40 + (i % 11), 101.2, 50 + (i % 90), 600 + (i % 300), 0.8]
    return JSON.stringify({
      devid: `put-${i % devices}`,
      ts: start + minute * 60 + (i % 60),
      readings: values,
    })
  })
}

function ok(result: LoadResult, status: number): void {
  const answered = Object.values(result.statuses).reduce((a, b) => a + b, 0)
  if ((result.statuses[status] ?? 0) !== answered) {
    throw new Error(`expected every answer to be ${status}, got ${JSON.stringify(result.statuses)}`)
  }
}

export async function run({ quick = false }: BenchOptions): Promise<BenchResult[]> {
  const concurrency = 32
  const durationMs = quick ? 3000 : 15_000
  const warmupMs = quick ? 500 : 2000
  const repeats = quick ? 1 : 3
  const bodies = vendorBodies(quick ? 60_000 : 400_000)
  const headers = { 'content-type': 'application/json' }

  const rates = { api: [] as number[], bare: [] as number[], bronze: [] as number[], store: [] as number[] }
  const latencies = { api: [] as number[], bare: [] as number[] }
  /** The planned load of PUTs on `app`, every answer a 201. */
  const put = async (app: FastifyInstance, key?: string): Promise<LoadResult> => {
    const result = await loadTest({
      port: await listen(app),
      method: 'PUT',
      paths: ['/sensorsdata'],
      bodies,
      headers: key === undefined ? headers : { ...headers, 'x-api-key': key },
      concurrency,
      durationMs,
      warmupMs,
    })
    ok(result, 201)
    return result
  }
  for (let i = 0; i < repeats; i++) {
    const bare = Fastify({ logger: false })
    bare.put('/sensorsdata', async (request, reply) =>
      reply.code(201).send({ stored: 6, body: request.body !== undefined }),
    )
    try {
      const result = await put(bare)
      rates.bare.push(result.rate)
      for (const ms of result.latenciesMs) latencies.bare.push(ms)
    } finally {
      await bare.close()
    }

    // A bare route that makes its reading durable in bronze, as ours does first, and nothing else.
    const dir = await mkdtemp(join(tmpdir(), 'airlake-bench-put-'))
    const bronze = new BronzeWriter(await FsLake.open(join(dir, 'lake')), systemClock)
    const durable = Fastify({ logger: false })
    durable.removeAllContentTypeParsers()
    durable.addContentTypeParser(
      '*',
      { parseAs: 'string' },
      async (_request: unknown, text: string | Buffer) => String(text),
    )
    durable.put('/sensorsdata', async (request, reply) => {
      const raw = request.body as string
      const readings = readingsFromVendor(JSON.parse(raw), 'http')
      await bronze.append('http', [bronzeLine('http', Date.now(), raw, readings)])
      return reply.code(201).send({ stored: readings.length })
    })
    try {
      rates.bronze.push((await put(durable)).rate)
    } finally {
      await durable.close()
      await bronze.close()
      await rm(dir, { recursive: true, force: true })
    }

    const f = await openApiFixture({ server: { maxInFlight: 4096 } })
    try {
      const result = await put(f.app, f.key)
      rates.api.push(result.rate)
      for (const ms of result.latenciesMs) latencies.api.push(ms)
    } finally {
      await f.close()
    }

    // The same readings straight into a fresh store's upsert, as many at once as the HTTP clients.
    const s = await openApiFixture()
    try {
      const rows = bodies.map((body) => readingsFromVendor(JSON.parse(body), 'http'))
      let next = 0
      let done = 0
      const endAt = performance.now() + warmupMs + durationMs
      let measuredFrom = 0
      const measureAt = performance.now() + warmupMs
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (performance.now() < endAt) {
            await s.store.writeReadings(rows[next++ % rows.length]!)
            if (performance.now() >= measureAt) {
              if (measuredFrom === 0) measuredFrom = performance.now()
              done++
            }
          }
        }),
      )
      rates.store.push(done / ((performance.now() - measuredFrom) / 1000))
    } finally {
      await s.close()
    }
  }

  const apiRate = median(rates.api)
  const bareRate = median(rates.bare)
  const bronzeRate = median(rates.bronze)
  const storeRate = median(rates.store)
  const p50 = quantile(latencies.api, 0.5)
  const p99 = quantile(latencies.api, 0.99)
  const bareP50 = quantile(latencies.bare, 0.5)
  const bareP99 = quantile(latencies.bare, 0.99)
  const sizes = `${concurrency} keep-alive connections, ${durationMs / 1000} s after ${warmupMs / 1000} s warm-up, median of ${repeats}`
  return [
    {
      name: 'PUT /sensorsdata requests/s',
      figure: apiRate,
      unit: 'req/s',
      baseline: { name: 'bare Fastify PUT route', figure: bareRate },
      ratio: apiRate / bareRate,
      target: '>= 0.3x',
      met: apiRate / bareRate >= 0.3,
      notes: `${sizes}; each request parsed, checked, appended to bronze (fsync) and upserted as 6 rows`,
    },
    {
      name: 'bare route appending its reading to bronze, requests/s',
      figure: bronzeRate,
      unit: 'req/s',
      baseline: { name: 'bare Fastify PUT route', figure: bareRate },
      ratio: bronzeRate / bareRate,
      notes: `${sizes}; the first of the two durable writes a PUT waits for, alone: what is left of the bare route once a reading must be on disk before its answer`,
    },
    {
      name: 'store writeReadings (6 rows) calls/s, alone',
      figure: storeRate,
      unit: 'calls/s',
      baseline: { name: 'bare Fastify PUT route', figure: bareRate },
      ratio: storeRate / bareRate,
      notes: `the second durable write a PUT waits for, alone: the same readings, ${concurrency} calls at once, no HTTP`,
    },
    {
      name: 'PUT /sensorsdata requests/s vs the bare store upsert',
      figure: apiRate,
      unit: 'req/s',
      baseline: { name: 'store writeReadings (6 rows) calls/s', figure: storeRate },
      ratio: apiRate / storeRate,
      notes: `the same readings, ${concurrency} calls at once`,
    },
    {
      name: 'PUT /sensorsdata p50 latency',
      figure: p50,
      unit: 'ms',
      baseline: { name: 'bare route p50', figure: bareP50 },
      ratio: p50 / bareP50,
      notes: 'lower is better; ratio = figure / baseline',
    },
    {
      name: 'PUT /sensorsdata p99 latency',
      figure: p99,
      unit: 'ms',
      baseline: { name: 'bare route p99', figure: bareP99 },
      ratio: p99 / bareP99,
      notes: 'lower is better; ratio = figure / baseline',
    },
  ]
}
