/**
 * The runs and models routes on a real server (`startRuntime` over DuckDB in a temp home): start a
 * training run with POST /runs as the dashboard does, follow it with GET /runs/:id, read its report,
 * list the registry and promote with POST /models/:name/aliases; keys are required and bad input is a 4xx.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { openApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { silentLogger } from '../src/core/ports/logger.js'
import type { RunRecord } from '../src/core/ports/store.js'
import { loadNoxReadings, NOX_DEVICE } from '../src/pipeline/datasets.js'
import { type Runtime, startRuntime } from '../src/runtime.js'

const KEY = 'train-api-test-key'
const FROM = Date.UTC(2004, 5, 1)
const TO = Date.UTC(2004, 5, 30, 23)
let home = ''
let runtime: Runtime

async function api(method: string, path: string, body?: unknown, key: string | null = KEY) {
  const headers: Record<string, string> = {}
  if (key !== null) headers['x-api-key'] = key
  if (body !== undefined) headers['content-type'] = 'application/json'
  const send = () =>
    fetch(`${runtime.url}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    })
  let response = await send()
  // A client retries after a 429 as the server asks: on a busy machine the event loop can lag past the
  // load-shedding limit while a run trains in this process.
  for (let tries = 0; response.status === 429 && tries < 60; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 1000))
    response = await send()
  }
  const text = await response.text()
  const type = response.headers.get('content-type') ?? ''
  return {
    status: response.status,
    type,
    text,
    json: type.includes('json') ? (JSON.parse(text) as Record<string, unknown>) : undefined,
  }
}

before(async () => {
  home = await mkdtemp(join(tmpdir(), 'airlake-train-api-'))
  const app = await openApp(loadConfig({ AIRLAKE_HOME: home, AIRLAKE_API_KEY: KEY }), {
    logger: silentLogger,
  })
  await app.store.writeReadings(
    loadNoxReadings({ measures: ['nox_ppb'] }).filter((r) => r.time >= FROM && r.time <= TO),
  )
  runtime = await startRuntime(app, { port: 0, host: '127.0.0.1', webRoot: false, schedule: false })
})

after(async () => {
  await runtime?.stop()
  await rm(home, { recursive: true, force: true })
})

describe('runs and models over HTTP', () => {
  let runId = ''

  it('starts a training run with POST /runs and follows it to the end with GET /runs/:id', async () => {
    const started = await api('POST', '/runs', {
      kind: 'train',
      device: NOX_DEVICE,
      measure: 'nox_ppb',
      window: 24,
      horizon: 6,
      step: '1h',
      models: ['ridge'],
      from: new Date(FROM).toISOString(),
      to: new Date(TO).toISOString(),
      folds: 2,
    })
    assert.equal(started.status, 202, started.text)
    runId = String(started.json!.id)
    let run: RunRecord | undefined
    for (let i = 0; i < 300; i++) {
      const answer = await api('GET', `/runs/${runId}`)
      assert.equal(answer.status, 200)
      run = answer.json!.run as RunRecord
      if (run.status === 'succeeded' || run.status === 'failed') break
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    assert.equal(run?.status, 'succeeded', run?.error)
    assert.deepEqual(
      run.steps.map((s) => s.status),
      new Array(7).fill('succeeded'),
    )
    assert.ok(Number.isFinite(run.metrics['ridge.mae']) && Number.isFinite(run.metrics['seasonal-naive.mae']))
    // Rolling-origin folds score each model on the training part too.
    const train = run.steps.find((s) => s.name === 'train')!.outputs as {
      crossValidationMae: Record<string, number>
    }
    assert.ok(train.crossValidationMae.ridge! > 0)
    assert.equal(run.steps.find((s) => s.name === 'dataset')!.outputs!.folds, 2)

    const listed = await api('GET', '/runs?limit=5')
    assert.deepEqual(
      (listed.json!.runs as RunRecord[]).map((r) => r.id),
      [runId],
    )
    const logs = await api('GET', `/runs/${runId}/logs`)
    assert.ok(
      (logs.json!.logs as Array<{ message: string }>).some((l) => /stage train succeeded/.test(l.message)),
    )
  })

  it('serves the run report as HTML', async () => {
    const report = await api('GET', `/runs/${runId}/report`)
    assert.equal(report.status, 200)
    assert.match(report.type, /text\/html/)
    assert.match(report.text, /<svg /)
    assert.match(report.text, new RegExp(`Evaluation of run ${runId}`))
    assert.match(report.text, /motorway-ch\.nox_ppb\.ridge@1/, 'the report names the registered version')
  })

  it('lists the registry with GET /models and promotes with POST /models/:name/aliases', async () => {
    const name = `${NOX_DEVICE}.nox_ppb.ridge`
    const models = (await api('GET', '/models')).json!.models as Array<{
      name: string
      aliases: Record<string, number>
      versions: Array<{ metrics: Record<string, number> }>
    }>
    const ridge = models.find((m) => m.name === name)
    assert.ok(ridge)
    assert.deepEqual(ridge.aliases, { champion: 1 })
    assert.equal(
      ridge.versions[0]!.metrics.mae,
      (await runtime.app.store.getRun(runId))!.metrics['ridge.mae'],
    )

    const promoted = await api('POST', `/models/${name}/aliases`, { alias: 'challenger', version: 1 })
    assert.equal(promoted.status, 200, promoted.text)
    assert.deepEqual(promoted.json!.aliases, { champion: 1, challenger: 1 })
    assert.equal(
      (await api('POST', `/models/${name}/aliases`, { alias: 'champion', version: 9 })).status,
      404,
    )
    assert.equal(
      (await api('POST', `/models/${name}/aliases`, { alias: 'Bad Alias', version: 1 })).status,
      400,
    )
    assert.equal((await api('GET', '/models/no.such.model')).status, 404)
  })

  it('needs a key, answers bad input with 400 and unknown runs with 404', async () => {
    assert.equal((await api('GET', '/runs', undefined, null)).status, 401)
    assert.equal((await api('GET', '/models', undefined, 'wrong')).status, 401)
    const bad = await api('POST', '/runs', { device: NOX_DEVICE, measure: 'nox_ppb', models: ['nonsense'] })
    assert.equal(bad.status, 400)
    assert.match(String((bad.json!.error as { message: string }).message), /unknown model "nonsense"/)
    assert.equal((await api('POST', '/runs', { device: NOX_DEVICE })).status, 400)
    assert.equal((await api('GET', '/runs/20240101T000000-abcdef')).status, 404)
    assert.equal((await api('POST', `/runs/${runId}/retry`)).status, 409)
  })

  it('publishes the routes in /openapi.json', async () => {
    const doc = (await api('GET', '/openapi.json')).json as { paths: Record<string, Record<string, unknown>> }
    for (const [path, method] of [
      ['/runs', 'get'],
      ['/runs', 'post'],
      ['/runs/{id}', 'get'],
      ['/runs/{id}/report', 'get'],
      ['/runs/{id}/retry', 'post'],
      ['/models', 'get'],
      ['/models/{name}/aliases', 'post'],
    ] as const) {
      assert.ok(doc.paths[path]?.[method], `${method.toUpperCase()} ${path} documented`)
    }
  })
})
