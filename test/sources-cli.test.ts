import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { promisify } from 'node:util'
import { type App, openApp } from '../src/app.js'
import { progressReporter } from '../src/cli/progress.js'
import { loadConfig } from '../src/config.js'
import { silentLogger } from '../src/core/ports/logger.js'
import { HOUR_MS } from '../src/core/time.js'
import {
  DEFAULT_LOCATION,
  type FakeOpenaqServer,
  startFakeOpenaqServer,
} from './support/fake-openaq-server.js'
import { type FakeVendorServer, startFakeVendorServer } from './support/fake-vendor-server.js'

const run = promisify(execFile)
const withoutLogLevel = ({ AIRLAKE_LOG_LEVEL: _, ...env }: NodeJS.ProcessEnv) => env
const RUNNER =
  "const { main } = await import('./src/cli/main.ts');" +
  'for (const args of JSON.parse(process.argv[1])) {' +
  '  process.exitCode = undefined; const code = await main(args);' +
  "  process.stdout.write('\\n@@exit ' + code + '\\n'); process.stderr.write('\\n@@end\\n') }"

let home: string
let vendor: FakeVendorServer
let openaq: FakeOpenaqServer

before(async () => {
  home = await mkdtemp(join(tmpdir(), 'airlake-sources-cli-'))
  vendor = await startFakeVendorServer()
  openaq = await startFakeOpenaqServer()
})
after(async () => {
  await vendor.close()
  await openaq.close()
  await rm(home, { recursive: true, force: true })
})

/** Runs `airlake <args>` for each entry in one child process (the real CLI); what each printed and its exit code. */
async function airlake(runs: string[][]): Promise<Array<{ code: number; stdout: string; stderr: string }>> {
  const { stdout, stderr } = await run(
    process.execPath,
    ['--import', 'tsx', '-e', RUNNER, JSON.stringify(runs)],
    {
      env: { ...withoutLogLevel(process.env), AIRLAKE_HOME: home },
      cwd: join(import.meta.dirname, '..'),
    },
  )
  const outs = stdout.split(/\n@@exit (\d+)\n/)
  const errs = stderr.split('\n@@end\n')
  return runs.map((_, i) => ({
    stdout: outs[2 * i] ?? '',
    code: Number(outs[2 * i + 1]),
    stderr: errs[i] ?? '',
  }))
}

async function withApp<T>(work: (app: App) => Promise<T>): Promise<T> {
  const app = await openApp(loadConfig({ AIRLAKE_HOME: home }), { logger: silentLogger })
  try {
    return await work(app)
  } finally {
    await app.close()
  }
}

describe('airlake poll vendor and airlake import openaq (the commands)', () => {
  it('poll --once stores the latest readings and skips them next time; a refused token exits 1 saying what to check; import walks every page through a 429 and resumes', async () => {
    vendor.addReading({
      devid: 'CLIVEND000000001',
      time: Date.UTC(2024, 4, 1, 12, 0, 30),
      values: [21, 40, 101, 80, 600, 0.4],
    })
    const sensor = DEFAULT_LOCATION.sensors.find((s) => s.parameter.id === 2)?.id ?? 0
    const start = Date.UTC(2024, 0, 1)
    openaq.addHours(sensor, start, 1_510, (i) => 10 + (i % 7))
    openaq.failNext('429', 1, { retryAfterSeconds: 0 })
    const poll = ['poll', 'vendor', '--url', vendor.url, '--token', vendor.token, '--once']
    const openaqArgs = [
      'import',
      'openaq',
      '--location',
      String(DEFAULT_LOCATION.id),
      '--base-url',
      openaq.url,
      '--api-key',
      openaq.apiKey,
      '--from',
      '2024-01-01',
    ]
    const [first, second, refused, imported, resumed, badLocation] = await airlake([
      poll,
      [...poll, '--json'],
      ['poll', 'vendor', '--url', vendor.url, '--token', 'stale', '--once'],
      [...openaqArgs, '--to', new Date(start + 1_500 * HOUR_MS).toISOString()],
      [...openaqArgs, '--to', new Date(start + 1_510 * HOUR_MS).toISOString(), '--json'],
      ['import', 'openaq', '--location', 'abc'],
    ])

    assert.equal(first?.code, 0, first?.stderr)
    assert.match(
      first?.stdout ?? '',
      /vendor: 1 readings fetched, 0 already stored, 1 stored \(6 rows\), 0 rejected\./,
    )
    assert.deepEqual(
      (({ fetched, skipped, stored }) => ({ fetched, skipped, stored }))(JSON.parse(second?.stdout ?? '{}')),
      { fetched: 1, skipped: 1, stored: 0 },
    )
    assert.equal(refused?.code, 1)
    assert.match(refused?.stderr ?? '', /rejected the token \(HTTP 401\): check --token/)

    assert.equal(imported?.code, 0, imported?.stderr)
    assert.match(
      imported?.stdout ?? '',
      /OpenAQ location 2178 \(Del Norte\), PM2.5 sensor 3917 -> device openaq-2178: 1,500 hours in 2 pages .*1,500 stored, 0 rejected\./,
    )
    assert.match(imported?.stderr ?? '', /openaq 2178: 100%, page 2\/2/)
    assert.equal(openaq.rateLimited, 1)
    const report = JSON.parse(resumed?.stdout ?? '{}') as { resumed: boolean; hours: number; stored: number }
    assert.deepEqual([report.resumed, report.hours, report.stored], [true, 10, 10])
    assert.equal(badLocation?.code, 1)
    assert.match(badLocation?.stderr ?? '', /--location must be a whole number/)

    await withApp(async (app) => {
      assert.equal(await app.store.countReadings({ deviceId: 'CLIVEND000000001' }), 6)
      assert.equal(await app.store.countReadings({ source: 'openaq' }), 1_510)
    })
  })
})

const ESC = '\u001b'
function append(sink: { text: string }, text: string): boolean {
  sink.text += text
  return true
}

describe('progressReporter', () => {
  it('redraws a bar in place on a terminal and writes sparse plain lines otherwise', () => {
    let time = 0
    const tty = { text: '', isTTY: true, columns: 80, write: (s: string) => append(tty, s) }
    const bar = progressReporter('big.csv', { stream: tty, now: () => time })
    bar.update({ done: 50, total: 100, detail: '5 rows' })
    time += 10
    bar.update({ done: 60, total: 100, detail: '6 rows' })
    time += 200
    bar.update({ done: 100, total: 100, detail: '10 rows' })
    bar.end()
    assert.ok(
      tty.text.startsWith(`\r${ESC}[2Kbig.csv [${'#'.repeat(12)}${'-'.repeat(12)}]  50% 5 rows`),
      JSON.stringify(tty.text),
    )
    assert.doesNotMatch(tty.text, /6 rows/)
    assert.match(tty.text, /\[#{24}\] 100% 10 rows/)

    time = 0
    const log = { text: '', isTTY: false, write: (s: string) => append(log, s) }
    const lines = progressReporter('big.csv', { stream: log, now: () => time, lineMs: 1_000 })
    lines.update({ done: 10, total: 100, detail: '1 row' })
    time += 1_500
    lines.update({ done: 50, total: 100, detail: '5 rows' })
    time += 100
    lines.update({ done: 100, total: 100, detail: '10 rows' })
    lines.end()
    assert.equal(log.text, 'big.csv: 50%, 5 rows\nbig.csv: 100%, 10 rows\n')
  })
})
