/**
 * The main job end to end, on the shipped real series: `airlake demo`'s devices post their history and
 * live readings through the HTTP API, ridge models train and register in the background, and forecasts
 * of the next 15 minutes appear in GET /predictions; a restart resumes the replay and keeps the models;
 * the bronze payloads then build silver Parquet partitions.
 */
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { openApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { silentLogger } from '../src/core/ports/logger.js'
import { startDemo } from '../src/demo/demo.js'
import { promoteToSilver } from '../src/pipeline/to-silver.js'

const home = await mkdtemp(join(tmpdir(), 'airlake-demo-'))
after(() => rm(home, { recursive: true, force: true }))

const config = () => loadConfig({ AIRLAKE_HOME: home }, { port: 0, host: '127.0.0.1' })

async function get(url: string, key: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url, { headers: { 'x-api-key': key } })
  return { status: response.status, body: (await response.json()) as Record<string, unknown> }
}

async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 90_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const value = await probe()
    if (value !== undefined) return value
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
  throw new Error(`timed out waiting for ${what}`)
}

test('the demo streams real readings, trains, forecasts, and resumes after a restart', async () => {
  const lines: string[] = []
  const demo = await startDemo(config(), {
    speed: 60,
    kinds: ['ridge'],
    onLine: (l) => lines.push(l),
    logger: silentLogger,
  })
  let stopped = false
  try {
    const key = demo.apiKey
    assert.equal(
      (await readFile(join(home, 'demo-key.txt'), 'utf8')).trim(),
      key,
      'the generated key is kept for restarts',
    )
    assert.ok(
      lines.some((l) => l.startsWith('loaded the history of 9 devices')),
      lines.join('\n'),
    )

    const sensors = await get(`${demo.runtime.url}/sensorsdata/sensors`, key)
    assert.equal(sensors.status, 200)
    assert.match(JSON.stringify(sensors.body), /wsn-single-hop-1/)
    assert.match(JSON.stringify(sensors.body), /motorway-ch/)
    assert.equal(
      (await fetch(`${demo.runtime.url}/sensorsdata/sensors`)).status,
      401,
      'the API needs the key',
    )

    await demo.training
    const trained = lines.filter((l) => l.startsWith('trained '))
    assert.equal(trained.length, 9, `one ridge run per series:\n${lines.join('\n')}`)
    const models = (await demo.app.store.listModels()).map((m) => m.name)
    assert.ok(models.includes('wsn-single-hop-1.iaq.ridge'), models.join(', '))

    // Live readings now trigger forecasts of iaq~1..15 at the next 15 minutes.
    const predictions = await eventually('forecasts of wsn-single-hop-1', async () => {
      const { body } = await get(
        `${demo.runtime.url}/predictions?device=wsn-single-hop-1&measure=iaq~15&limit=5`,
        key,
      )
      const records = body.Records as unknown[] | undefined
      return records && records.length > 0 ? body : undefined
    })
    assert.match(JSON.stringify(predictions), /iaq~15/)
    const all = await get(`${demo.runtime.url}/predictions?device=wsn-single-hop-1&limit=100`, key)
    const names = new Set((all.body.Metadata as { ColumnName: string[] }).ColumnName)
    for (let h = 1; h <= 15; h++) assert.ok(names.has(`iaq~${h}`), `iaq~${h} in ${[...names].join(', ')}`)

    await demo.stop()
    stopped = true
  } finally {
    if (!stopped) await demo.stop()
  }

  // A restart resumes the replay and finds the models it trained.
  const runsBefore = await countRuns()
  const again: string[] = []
  const second = await startDemo(config(), {
    speed: 60,
    kinds: ['ridge'],
    onLine: (l) => again.push(l),
    logger: silentLogger,
  })
  try {
    await second.training
    assert.ok(
      again.some((l) => l.startsWith('resumed the replay')),
      again.join('\n'),
    )
    assert.equal(again.filter((l) => l.startsWith('trained ')).length, 0, 'no model is trained twice')
  } finally {
    await second.stop()
  }
  assert.equal(await countRuns(), runsBefore)

  // Bronze holds every payload as received; silver turns it into Parquet partitions.
  const app = await openApp(config(), { logger: silentLogger })
  try {
    const report = await promoteToSilver({
      lake: app.lake,
      columnar: app.columnar,
      clock: app.clock,
      logger: app.logger,
    })
    assert.ok(report.partitions.length > 0, JSON.stringify(report))
    assert.ok(
      report.partitions.every(
        (p) => p.key.startsWith(`silver/${p.source}/date=`) && p.key.endsWith('.parquet'),
      ),
    )
    assert.ok(report.partitions.reduce((sum, p) => sum + p.rows, 0) > 20_000)
  } finally {
    await app.close()
  }
})

async function countRuns(): Promise<number> {
  const app = await openApp(config(), { logger: silentLogger })
  try {
    return (await app.store.listRuns({ limit: 1000 })).length
  } finally {
    await app.close()
  }
}
