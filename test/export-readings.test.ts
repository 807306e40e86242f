/**
 * Exports (`exportReadings`, `airlake export`, `GET /exports`): a day, a range or the last N days as CSV or
 * Parquet, holding exactly the rows the store holds, kept in the lake under the seed's names and written to
 * `--out`.
 */
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { DuckDBInstance } from '@duckdb/node-api'
import { Command } from 'commander'
import { exportsRoutes } from '../src/api/routes/exports.js'
import type { App } from '../src/app.js'
import { exportCommand, exportRangeFrom } from '../src/cli/commands/export.js'
import { isAirlakeError } from '../src/core/errors.js'
import { DAY_MS, MINUTE_MS } from '../src/core/time.js'
import { exportReadings } from '../src/pipeline/export.js'
import {
  captureOutput,
  type LakePipelineFixture,
  minuteReadings,
  openLakePipeline,
} from './lake-pipeline-fixture.js'

const JAN31 = Date.UTC(2024, 0, 31)
const JAN30 = JAN31 - DAY_MS
const DEVICES = ['dev-1', 'dev-2']
const MEASURES = ['temperature', 'humidity', 'co2']

type Row = [string, string, string, number, string]

/** CSV text as its header and rows [time, device, measure, value (a number), source]. */
function parseCsv(text: string): { header: string; rows: Row[] } {
  const [header = '', ...lines] = text.trimEnd().split('\n')
  return {
    header,
    rows: lines.map((line) => {
      const [time = '', device = '', measure = '', value = '', source = ''] = line.split(',')
      return [time, device, measure, Number(value), source]
    }),
  }
}

/** The store's rows in [from, to) as CSV rows would show them, ordered by time, device, measure. */
async function storeRows(
  fixture: LakePipelineFixture,
  from: number,
  to: number,
  source?: string,
): Promise<Row[]> {
  const sorted: Array<{ time: number; row: Row }> = []
  for (const device of DEVICES) {
    for (const measure of MEASURES) {
      for (const r of await fixture.store.readingSeries(device, measure, from, to - 1)) {
        if (source === undefined || r.source === source) {
          sorted.push({
            time: r.time,
            row: [new Date(r.time).toISOString(), r.deviceId, r.measure, r.value, r.source],
          })
        }
      }
    }
  }
  sorted.sort(
    (a, b) => a.time - b.time || a.row[1].localeCompare(b.row[1]) || a.row[2].localeCompare(b.row[2]),
  )
  return sorted.map((s) => s.row)
}

/** Two days of readings from two sources, with impossible values (rejected) and re-sent ones (replacing). */
async function loadTwoDays(fixture: LakePipelineFixture): Promise<void> {
  await fixture.ingest(
    'http',
    minuteReadings(JAN31 - 20 * MINUTE_MS, 40, DEVICES, ['temperature', 'humidity'], (d, m, minute) =>
      m === 'humidity' ? 40 + minute * 0.1 : 20.5 + d,
    ),
  )
  await fixture.ingest(
    'mqtt',
    minuteReadings(JAN31, 10, DEVICES, ['co2'], (d, _m, minute) => 400 + d * 10 + minute),
  )
  const impossible = await fixture.ingest('http', [
    { time: JAN31, deviceId: 'dev-1', measure: 'humidity', value: 130 },
    { time: JAN31, deviceId: 'dev-1', measure: 'co2', value: -5 },
  ])
  assert.equal(impossible.rejected, 2)
  fixture.clock.advance(MINUTE_MS)
  await fixture.ingest('http', [
    { time: JAN31 + 3 * MINUTE_MS, deviceId: 'dev-2', measure: 'temperature', value: 1 / 3 },
  ])
}

let duck: DuckDBInstance
before(async () => {
  duck = await DuckDBInstance.create(':memory:')
})
after(() => duck.closeSync())

describe('exports', () => {
  it('exports a day, a range and the last N days holding exactly the stored rows, under the seed names', async () => {
    const fixture = await openLakePipeline(JAN31 + 12 * 3_600_000)
    try {
      await loadTwoDays(fixture)
      const out = join(fixture.dir, 'jan31.csv')
      const day = await exportReadings(fixture, { range: { day: '2024-01-31' }, out })
      assert.equal(day.key, 'silver/_all/2024-01-31/raw.csv')
      const expectedDay = await storeRows(fixture, JAN31, JAN31 + DAY_MS)
      assert.equal(expectedDay.length, 20 * 4 + 10 * 2)
      assert.equal(day.rows, expectedDay.length)
      const csv = await readFile(out, 'utf8')
      assert.equal(
        Buffer.from((await fixture.lake.get(day.key)) ?? []).toString('utf8'),
        csv,
        '--out and the lake hold the same file',
      )
      const parsed = parseCsv(csv)
      assert.equal(parsed.header, 'time,device_id,measure,value,source')
      assert.deepEqual(parsed.rows, expectedDay)
      assert.ok(
        parsed.rows.some((row) => row[3] === 1 / 3),
        'doubles survive the round trip exactly',
      )
      assert.ok(
        !parsed.rows.some((row) => row[3] === 130 || row[3] === -5),
        'rejected values are not exported',
      )

      const range = await exportReadings(fixture, {
        source: 'http',
        range: { from: '2024-01-30', to: '2024-01-31' },
      })
      assert.equal(range.key, 'silver/http/export/20240130.20240131/raw.csv')
      const rangeCsv = parseCsv(Buffer.from((await fixture.lake.get(range.key)) ?? []).toString('utf8'))
      assert.deepEqual(rangeCsv.rows, await storeRows(fixture, JAN30, JAN31 + DAY_MS, 'http'))
      assert.equal(range.rows, 40 * 4)

      const latest = await exportReadings(fixture, { source: 'mqtt', range: { days: 2 } })
      assert.equal(latest.key, 'silver/mqtt/latest/2-days/raw.csv')
      assert.deepEqual(
        parseCsv(Buffer.from((await fixture.lake.get(latest.key)) ?? []).toString('utf8')).rows,
        await storeRows(fixture, JAN30, JAN31 + DAY_MS, 'mqtt'),
      )
      const todayOnly = await exportReadings(fixture, { range: { days: 1 } })
      assert.equal(todayOnly.rows, expectedDay.length, 'the last 1 day is today')

      // New readings are promoted to silver before exporting, and the kept export is replaced.
      fixture.clock.advance(MINUTE_MS)
      await fixture.ingest('http', [
        { time: JAN31 + 30 * MINUTE_MS, deviceId: 'dev-1', measure: 'temperature', value: 19 },
      ])
      const again = await exportReadings(fixture, { range: { day: '2024-01-31' } })
      assert.equal(again.rows, expectedDay.length + 1)
    } finally {
      await fixture.close()
    }
  })

  it('exports Parquet that DuckDB reads with the same rows', async () => {
    const fixture = await openLakePipeline(JAN31 + 12 * 3_600_000)
    try {
      await loadTwoDays(fixture)
      const report = await exportReadings(fixture, {
        range: { from: '2024-01-30', to: '2024-01-31' },
        format: 'parquet',
      })
      assert.equal(report.key, 'silver/_all/export/20240130.20240131/raw.parquet')
      const connection = await duck.connect()
      const result = await connection.runAndReadAll(
        `SELECT strftime(time AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%gZ'), device_id, measure, value, source FROM read_parquet('${fixture.lake.localPath(report.key)}')`,
      )
      connection.closeSync()
      const rows = result
        .getRows()
        .map((r) => [String(r[0]), String(r[1]), String(r[2]), Number(r[3]), String(r[4])])
      assert.deepEqual(rows, await storeRows(fixture, JAN30, JAN31 + DAY_MS))
    } finally {
      await fixture.close()
    }
  })

  it('refuses bad ranges with a message saying what to give', async () => {
    const fixture = await openLakePipeline()
    try {
      const invalid = (pattern: RegExp) => (error: unknown) =>
        isAirlakeError(error, 'PARAMETER_INVALID') && pattern.test(error.message)
      await assert.rejects(
        exportReadings(fixture, { range: { from: '2024-02-01', to: '2024-01-01' } }),
        invalid(/must not be after/),
      )
      await assert.rejects(
        exportReadings(fixture, { range: { days: 0 } }),
        invalid(/days must be a whole number/),
      )
      await assert.rejects(
        exportReadings(fixture, { range: { day: '31/01/2024' } }),
        invalid(/like 2024-01-31/),
      )
      await assert.rejects(
        exportReadings(fixture, { source: 'No Such', range: { day: '2024-01-31' } }),
        invalid(/source must be/),
      )
      assert.throws(() => exportRangeFrom({ day: '2024-01-31', days: '3' }), invalid(/one of: --day D/))
      assert.throws(() => exportRangeFrom({ from: '2024-01-31' }), invalid(/both --from D and --to D/))
      assert.deepEqual(exportRangeFrom({ days: '7' }), { days: 7 })
    } finally {
      await fixture.close()
    }
  })

  it('`airlake export --out` writes the file and prints a one-line summary', async () => {
    const fixture = await openLakePipeline(JAN31 + 12 * 3_600_000)
    try {
      await loadTwoDays(fixture)
      const program = new Command('airlake').exitOverride()
      exportCommand(program, async () => fixture as unknown as App)
      const file = join(fixture.dir, 'week.csv')
      const { stdout } = await captureOutput(() =>
        program
          .parseAsync(['export', '--source', 'http', '--days', '7', '--out', file], { from: 'user' })
          .then(() => {}),
      )
      assert.deepEqual(
        parseCsv(await readFile(file, 'utf8')).rows,
        await storeRows(fixture, JAN31 - 6 * DAY_MS, JAN31 + DAY_MS, 'http'),
      )
      assert.match(
        stdout,
        /^Exported 160 rows \(2024-01-25 to 2024-01-31, 2 silver partitions, [\d,]+ bytes\) to lake silver\/http\/latest\/7-days\/raw\.csv and .*week\.csv\.\n$/,
      )
    } finally {
      await fixture.close()
    }
  })

  it('GET /exports streams the CSV as a download, behind the API key', async () => {
    const fixture = await openLakePipeline(JAN31 + 12 * 3_600_000)
    try {
      await loadTwoDays(fixture)
      const { api, key } = await fixture.serve([exportsRoutes(fixture)])
      const response = await api.inject({
        method: 'GET',
        url: '/exports?day=2024-01-31&source=mqtt',
        headers: { 'x-api-key': key },
      })
      assert.equal(response.statusCode, 200)
      assert.match(String(response.headers['content-type']), /^text\/csv/)
      assert.equal(response.headers['content-disposition'], 'attachment; filename="mqtt-20240131.csv"')
      assert.deepEqual(parseCsv(response.body).rows, await storeRows(fixture, JAN31, JAN31 + DAY_MS, 'mqtt'))
      assert.equal(response.headers['x-airlake-rows'], '20')
      assert.equal(await fixture.lake.exists('silver/mqtt/2024-01-31/raw.csv'), true)

      const parquet = await api.inject({
        method: 'GET',
        url: '/exports?from=2024-01-30&to=2024-01-31&format=parquet',
        headers: { 'x-api-key': key },
      })
      assert.equal(parquet.statusCode, 200)
      assert.equal(
        parquet.headers['content-disposition'],
        'attachment; filename="all-20240130-20240131.parquet"',
      )
      assert.equal(parquet.rawPayload.subarray(0, 4).toString(), 'PAR1')

      const noKey = await api.inject({ method: 'GET', url: '/exports?day=2024-01-31' })
      assert.equal(noKey.statusCode, 401)
      const both = await api.inject({
        method: 'GET',
        url: '/exports?day=2024-01-31&days=3',
        headers: { 'x-api-key': key },
      })
      assert.equal(both.statusCode, 400)
      assert.equal(both.json().error.code, 'PARAMETER_INVALID')
      const badFormat = await api.inject({
        method: 'GET',
        url: '/exports?day=2024-01-31&format=xlsx',
        headers: { 'x-api-key': key },
      })
      assert.equal(badFormat.statusCode, 400)
    } finally {
      await fixture.close()
    }
  })
})
