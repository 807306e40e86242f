import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import * as XLSX from '@e965/xlsx'
import { openApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { isAirlakeError } from '../src/core/errors.js'
import { silentLogger } from '../src/core/ports/logger.js'
import type { Reading } from '../src/core/types.js'
import { ingestFile } from '../src/pipeline/ingest-file.js'
import type { SourceFileRow } from '../src/pipeline/source-adapters.js'
import { uploadRouteModule } from '../src/sources.js'
import { openApiFixture } from './api-fixture.js'
import { runAirlake } from './support/cli.js'
import { openSourceTestDeps, type SourceTestDeps } from './support/source-deps.js'

let deps: SourceTestDeps

before(async () => {
  deps = await openSourceTestDeps()
})
after(async () => {
  await deps.close()
})

function fileDeps() {
  return { ...deps, readRecords: deps.adapters.readRecords }
}

/** Every raw payload the source left in bronze and in `rejected`. */
async function landed(source: string): Promise<{ bronze: Set<string>; rejected: Map<string, string[]> }> {
  const bronze = new Set<string>()
  for await (const object of deps.lake.list(`bronze/${source}/`)) {
    const text = Buffer.from((await deps.lake.get(object.key)) ?? new Uint8Array()).toString('utf8')
    for (const line of text.split('\n')) if (line) bronze.add((JSON.parse(line) as { raw: string }).raw)
  }
  const rejected = new Map<string, string[]>()
  for (const rejection of await deps.store.listRejections({ source, limit: 10_000 })) {
    rejected.set(rejection.payload, [
      ...(rejected.get(rejection.payload) ?? []),
      `${rejection.code}: ${rejection.reason}`,
    ])
  }
  return { bronze, rejected }
}

const WIDE_CSV = [
  'time,device,temperature,humidity,co2',
  '2024-01-01T00:00:00Z,room-1,21.5,40,420',
  '2024-01-01T00:01:00Z,room-1,21.6,150,421',
  '2024-01-01T00:02:00Z,room-1,abc,40,422',
  '2024-01-01T00:03:00Z,room-1,,,',
  '2024-01-01T00:04:00Z,bad id!,21,40,400',
  'yesterday,room-1,21,40,400',
  '2024-01-01T00:05:00Z,room-2,-70,150,-5',
  '2024-01-01T00:06:00Z,room-2,20,"41,5',
]

describe('ingestFile: nothing lost', () => {
  it('a wide CSV: every row is stored or kept in `rejected` with its line and reason, impossible values included', async () => {
    const path = join(deps.dir, 'wide.csv')
    await writeFile(path, `${WIDE_CSV.join('\n')}\n`)
    const report = await ingestFile(fileDeps(), { path, source: 'csv-test' })

    assert.equal(report.shape, 'wide')
    assert.equal(report.rows, WIDE_CSV.length - 1)
    assert.equal(report.rowsStored, 2)
    assert.equal(report.rowsRejected, 6)
    assert.equal(report.rows, report.rowsStored + report.rowsRejected)
    assert.equal(report.readingsStored, 3 + 2)
    assert.equal(report.rejections, 9)
    assert.deepEqual(
      report.firstRejections.map((r) => [r.line, r.code]),
      [
        [3, 'READING_IMPOSSIBLE'],
        [4, 'READING_INVALID'],
        [5, 'READING_INVALID'],
        [6, 'READING_INVALID'],
        [7, 'TIME_INVALID'],
      ],
    )
    assert.match(report.firstRejections[0]?.reason ?? '', /humidity 150/)
    assert.match(report.firstRejections[1]?.reason ?? '', /line 4: temperature is not a number: "abc"/)

    // Rows in against rows stored plus rows in `rejected`, payload by payload.
    const { bronze, rejected } = await landed('csv-test')
    for (const line of WIDE_CSV.slice(1)) assert.ok(bronze.has(line) || rejected.has(line), `lost: ${line}`)
    assert.equal(await deps.store.countReadings({ source: 'csv-test' }), report.readingsStored)
    assert.equal(await deps.store.countRejections({ source: 'csv-test' }), report.rejections)
    assert.ok(rejected.get(WIDE_CSV[7] ?? '')?.some((r) => /temperature -70/.test(r)))
    assert.ok(rejected.get(WIDE_CSV[8] ?? '')?.some((r) => /Quote Not Closed/.test(r)))
    const rows = await deps.store.readingsPage({
      deviceId: 'room-1',
      from: 0,
      to: Date.UTC(2025, 0),
      limitTimes: 10,
    })
    assert.deepEqual(
      rows.map((r) => [new Date(r.time).toISOString(), r.measure, r.value, r.source]),
      [
        ['2024-01-01T00:01:00.000Z', 'co2', 421, 'csv-test'],
        ['2024-01-01T00:01:00.000Z', 'temperature', 21.6, 'csv-test'],
        ['2024-01-01T00:00:00.000Z', 'co2', 420, 'csv-test'],
        ['2024-01-01T00:00:00.000Z', 'humidity', 40, 'csv-test'],
        ['2024-01-01T00:00:00.000Z', 'temperature', 21.5, 'csv-test'],
      ],
    )
  })

  it('a long CSV, a semicolon file mapped with options, and an NDJSON of vendor, long and wide objects', async () => {
    const long = join(deps.dir, 'long.csv')
    await writeFile(
      long,
      'time,device,measure,value\n1704067200,dev-l,pm25,7.5\n1704070800,dev-l,pm25,-1\n1704074400,dev-l,pm25,NaN?\n',
    )
    const longReport = await ingestFile(fileDeps(), { path: long, source: 'long-test' })
    assert.deepEqual(
      [longReport.shape, longReport.rows, longReport.rowsStored, longReport.rowsRejected],
      ['long', 3, 1, 2],
    )
    assert.equal(await deps.store.countRejections({ source: 'long-test' }), 2)

    const odd = join(deps.dir, 'odd.txt')
    await writeFile(odd, 'day;hour;site;mote;NOx;note\n2004-03-10;18;ch;2;166;x\n2004-03-10;19;ch;2;;y\n')
    const oddReport = await ingestFile(fileDeps(), {
      path: odd,
      source: 'odd-test',
      mapping: { time: 'day+hour:h', deviceColumns: ['site', 'mote'], measures: ['NOx'] },
    })
    assert.deepEqual([oddReport.rows, oddReport.rowsStored, oddReport.rowsRejected], [2, 1, 1])
    assert.deepEqual(
      (await deps.store.readingSeries('ch-2', 'nox', 0, Date.UTC(2005, 0))).map((r) => [r.time, r.value]),
      [[Date.UTC(2004, 2, 10, 18), 166]],
    )

    const ndjson = join(deps.dir, 'mixed.ndjson')
    const lines = [
      JSON.stringify({
        devid: 'NDJ0000000000001',
        ts: 'Tue, 07 Feb 2023 11:29:19 GMT',
        readings: [1, 22, 45, 101, 90, 600, 0.5],
      }),
      JSON.stringify({ time: '2023-02-07T11:30:00Z', device: 'ndj-long', measure: 'co2', value: 650 }),
      JSON.stringify({ timestamp: '2023-02-07T11:31:00Z', device_id: 'ndj-wide', co2: 640, humidity: 101 }),
      '{"broken": ',
      JSON.stringify([1, 2, 3]),
    ]
    await writeFile(ndjson, `${lines.join('\n')}\n\n`)
    const ndReport = await ingestFile(fileDeps(), { path: ndjson, source: 'ndjson-test' })
    assert.deepEqual(
      [ndReport.shape, ndReport.rows, ndReport.rowsStored, ndReport.rowsRejected, ndReport.readingsStored],
      ['json', 5, 3, 2, 8],
    )
    const { bronze, rejected } = await landed('ndjson-test')
    for (const line of lines) assert.ok(bronze.has(line) || rejected.has(line), `lost: ${line}`)
    assert.ok(rejected.get(lines[2] ?? '')?.some((r) => /humidity 101/.test(r)))
  })

  for (const [ext, bookType] of [
    ['xlsx', 'xlsx'],
    ['xls', 'xls'],
  ] as const) {
    it(`a real .${ext} workbook (${bookType === 'xls' ? 'BIFF8' : 'OOXML'}), dates as cells, with an impossible value and a text cell`, async () => {
      const sheet = XLSX.utils.aoa_to_sheet(
        [
          ['Timestamp', 'Device', 'CO2', 'Humidity'],
          [new Date(Date.UTC(2024, 5, 1, 8, 0)), 'office-1', 512, 44.5],
          [new Date(Date.UTC(2024, 5, 1, 8, 1)), 'office-1', 515, 140],
          [new Date(Date.UTC(2024, 5, 1, 8, 2)), 'office-1', 'n/a?', 45],
          [new Date(Date.UTC(2024, 5, 1, 8, 3)), 'office-2', 498, 47],
        ],
        { cellDates: true },
      )
      const book = XLSX.utils.book_new()
      XLSX.utils.book_append_sheet(book, sheet, 'Readings')
      const path = join(deps.dir, `office.${ext}`)
      await writeFile(path, XLSX.write(book, { type: 'buffer', bookType }) as Buffer)
      const source = `${ext}-test`
      const report = await ingestFile(fileDeps(), { path, source })
      assert.deepEqual(
        [report.shape, report.rows, report.rowsStored, report.rowsRejected, report.readingsStored],
        ['wide', 4, 3, 1, 5],
      )
      assert.equal(report.rejections, 2)
      assert.deepEqual(report.devices, ['office-1', 'office-2'])
      const series = await deps.store.readingSeries('office-1', 'co2', 0, Date.UTC(2025, 0))
      assert.deepEqual(
        series.map((r) => [new Date(r.time).toISOString(), r.value]),
        [
          ['2024-06-01T08:00:00.000Z', 512],
          ['2024-06-01T08:01:00.000Z', 515],
        ],
      )
      assert.equal(await deps.store.countReadings({ source }), report.readingsStored)
      assert.equal(await deps.store.countRejections({ source }), report.rejections)
      const reasons = (await deps.store.listRejections({ source })).map((r) => r.reason)
      assert.ok(reasons.some((r) => /humidity 140/.test(r)))
      assert.ok(reasons.some((r) => /line 4: CO2 is not a number: "n\/a\?"/.test(r)))
    })
  }

  it('refuses a file it cannot map before storing anything, naming the option that fixes it', async () => {
    const path = join(deps.dir, 'nodevice.csv')
    await writeFile(path, 'time,co2\n2024-01-01T00:00:00Z,400\n')
    await assert.rejects(
      ingestFile(fileDeps(), { path, source: 'refused' }),
      (e) => isAirlakeError(e, 'FILE_INVALID') && /--device ID/.test(e.message),
    )
    await assert.rejects(ingestFile(fileDeps(), { path, source: 'Bad Source' }), (e) =>
      isAirlakeError(e, 'PARAMETER_INVALID'),
    )
    assert.equal(await deps.store.countReadings({ source: 'refused' }), 0)
  })
})

describe('ingestFile: streaming', () => {
  it('pulls rows in bounded batches: never more than two batches read ahead of the store', async () => {
    const path = join(deps.dir, 'stream.csv')
    const lines = ['time,device,co2']
    for (let i = 0; i < 30_000; i++) lines.push(`${1_700_000_000 + i * 60},stream-${i % 3},${400 + (i % 50)}`)
    await writeFile(path, `${lines.join('\n')}\n`)
    let yielded = 0
    const readAhead: number[] = []
    let written = 0
    const readRecords = async function* (
      file: string,
      options?: Parameters<typeof deps.adapters.readRecords>[1],
    ): AsyncGenerator<SourceFileRow> {
      for await (const row of deps.adapters.readRecords(file, options)) {
        if (row.kind !== 'header') yielded++
        yield row
      }
    }
    const store = Object.create(deps.store) as typeof deps.store
    store.writeReadings = async (rows: readonly Reading[]) => {
      written += rows.length
      // Rows read from the file but not yet handed to the store (one reading per row here).
      readAhead.push(yielded - written)
      return deps.store.writeReadings(rows)
    }
    const progress: number[] = []
    const report = await ingestFile(
      { ...deps, store, readRecords },
      { path, source: 'stream-test', batchRows: 1_000, onProgress: (p) => progress.push(p.rows) },
    )
    assert.equal(report.rowsStored, 30_000)
    assert.equal(readAhead.length, 30)
    assert.ok(
      readAhead.every((n) => n <= 2_000),
      `read ahead: ${Math.max(...readAhead)}`,
    )
    assert.ok(progress.length >= 30 && progress.at(-1) === 30_000)
  })
})

describe('airlake ingest (the command)', () => {
  it('imports a file with a plain progress line off a terminal and a summary; --json; exit 1 when nothing could be stored', async () => {
    const home = join(deps.dir, 'cli-home')
    const csv = join(deps.dir, 'cli.csv')
    await writeFile(
      csv,
      'ts,devid,co2,humidity\n2024-02-01T10:00:00Z,cli-1,400,40\n2024-02-01T10:01:00Z,cli-1,401,150\n2024-02-01T10:02:00Z,cli-1,x,40\n',
    )
    const cli = (args: string[]) => runAirlake(home, args, ['AIRLAKE_LOG_LEVEL'])

    const first = await cli(['ingest', csv, '--source', 'cli-test'])
    assert.equal(first.code, 0, first.stderr)
    assert.match(
      first.stdout,
      /cli\.csv \(wide\): 3 rows -> 2 stored \(3 readings\), 1 rejected \(2 entries kept in `rejected`\)/,
    )
    assert.match(first.stdout, /line 3: READING_IMPOSSIBLE .*humidity 150/)
    assert.match(first.stdout, /line 4: READING_INVALID .*co2 is not a number/)
    assert.match(first.stderr, /cli\.csv: 100%, /)
    assert.ok(!first.stderr.includes('\u001b['), 'no terminal escapes off a terminal')

    const json = await cli(['ingest', csv, '--source', 'cli-test', '--json'])
    assert.equal(json.code, 0, json.stderr)
    assert.deepEqual(
      (({ rows, rowsStored, rowsRejected }) => ({ rows, rowsStored, rowsRejected }))(
        JSON.parse(json.stdout) as { rows: number; rowsStored: number; rowsRejected: number },
      ),
      { rows: 3, rowsStored: 2, rowsRejected: 1 },
    )

    const bad = join(deps.dir, 'bad.csv')
    await writeFile(bad, 'ts,devid,co2\n2024-02-01T10:00:00Z,cli-1,x\n')
    const nothing = await cli(['ingest', bad, '--source', 'cli-test'])
    assert.equal(nothing.code, 1)
    assert.match(nothing.stdout, /1 rows -> 0 stored/)
    assert.match(nothing.stderr, /no row of .*bad\.csv could be stored/)

    const unmapped = await cli(['ingest', csv, '--source', 'cli-test', '--measures', 'nope'])
    assert.equal(unmapped.code, 1)
    assert.match(unmapped.stderr, /has no column "nope"/)

    const app = await openApp(loadConfig({ AIRLAKE_HOME: home }), { logger: silentLogger })
    try {
      assert.equal(await app.store.countReadings({ source: 'cli-test' }), 3)
    } finally {
      await app.close()
    }
  })
})

describe('POST /sensorsdata/upload', () => {
  it('imports a raw file body like airlake ingest, and answers 400 (kept in `rejected`) for a file it cannot import', async () => {
    const fixture = await openApiFixture({ extraRoutes: [uploadRouteModule] })
    try {
      const upload = (query: string, body: string | Buffer, type = 'text/csv') =>
        fixture.app.inject({
          method: 'POST',
          url: `/sensorsdata/upload?${query}`,
          headers: { 'x-api-key': fixture.key, 'content-type': type },
          body,
        })

      const csv =
        'time,device,co2,humidity\n2024-03-01T00:00:00Z,up-1,410,40\n2024-03-01T00:01:00Z,up-1,411,-3\n2024-03-01T00:02:00Z,up-1,oops,40\n'
      const answer = await upload('filename=readings.csv', csv)
      assert.equal(answer.statusCode, 200, answer.body)
      const report = answer.json()
      assert.deepEqual(
        [report.rows, report.rowsStored, report.rowsRejected, report.readingsStored, report.rejections],
        [3, 2, 1, 3, 2],
      )
      assert.equal(report.from, '2024-03-01T00:00:00.000Z')

      const sheet = XLSX.utils.aoa_to_sheet(
        [
          ['time', 'co2'],
          [new Date(Date.UTC(2024, 2, 2)), 420],
        ],
        { cellDates: true },
      )
      const book = XLSX.utils.book_new()
      XLSX.utils.book_append_sheet(book, sheet, 'S')
      const xls = XLSX.write(book, { type: 'buffer', bookType: 'xls' }) as Buffer
      const sheetAnswer = await upload(
        'filename=legacy.xls&device=up-2&source=sheets',
        xls,
        'application/vnd.ms-excel',
      )
      assert.equal(sheetAnswer.statusCode, 200, sheetAnswer.body)
      assert.equal(sheetAnswer.json().readingsStored, 1)

      const got = await fixture.app.inject({
        method: 'GET',
        url: `/sensorsdata?device=up-1&from=${Date.UTC(2024, 2, 1) / 1000}&to=${Date.UTC(2024, 2, 2) / 1000}`,
        headers: { 'x-api-key': fixture.key },
      })
      assert.equal(got.statusCode, 200)
      assert.equal(got.json().Records.length, 2)

      const refused = await upload('filename=nodevice.csv', 'time,co2\n2024-03-01T00:00:00Z,400\n')
      assert.equal(refused.statusCode, 400)
      assert.equal(refused.json().error.code, 'FILE_INVALID')
      assert.match(refused.json().error.message, /--device ID/)
      const kept = await fixture.store.listRejections({ source: 'upload' })
      assert.ok(
        kept.some(
          (r) =>
            r.code === 'FILE_INVALID' &&
            r.payload.includes('nodevice.csv') &&
            r.payload.includes('2024-03-01T00:00:00Z,400'),
        ),
      )

      const noName = await upload('', csv)
      assert.equal(noName.statusCode, 400)
      const form = await upload('filename=a.csv', csv, 'multipart/form-data; boundary=x')
      assert.equal(form.statusCode, 400)
      assert.match(form.json().error.message, /--data-binary/)
    } finally {
      await fixture.close()
    }
  })
})
