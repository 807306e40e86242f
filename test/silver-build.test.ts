/**
 * Bronze -> silver (`promoteToSilver`, `airlake lake build-silver`): typed, de-duplicated Parquet partitions
 * per source and day that DuckDB reads as they are, holding exactly the store's rows; idempotent,
 * incremental, and never showing half a partition when a run fails half-way.
 */
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { after, before, describe, it } from 'node:test'
import { DuckDBInstance } from '@duckdb/node-api'
import { Command } from 'commander'
import type { App } from '../src/app.js'
import { lakeCommand } from '../src/cli/commands/lake.js'
import type { Columnar, ColumnarStaging } from '../src/core/ports/columnar.js'
import { DAY_MS, MINUTE_MS } from '../src/core/time.js'
import { promoteToSilver, silverPartitionKey } from '../src/pipeline/to-silver.js'
import {
  captureOutput,
  type LakePipelineFixture,
  minuteReadings,
  openLakePipeline,
} from './lake-pipeline-fixture.js'

const JAN31 = Date.UTC(2024, 0, 31)
const JAN30 = JAN31 - DAY_MS

let duck: DuckDBInstance
before(async () => {
  duck = await DuckDBInstance.create(':memory:')
})
after(() => duck.closeSync())

/** Rows of Parquet `files` as read by plain DuckDB: [epoch ms, device, measure, value, source], sorted. */
async function parquetRows(files: string[]): Promise<Array<[number, string, string, number, string]>> {
  const connection = await duck.connect()
  try {
    const list = files.map((f) => `'${f}'`).join(', ')
    const result = await connection.runAndReadAll(
      `SELECT epoch_ms(time), device_id, measure, value, source FROM read_parquet([${list}]) ORDER BY 1, 2, 3`,
    )
    return result
      .getRows()
      .map((row) => [Number(row[0]), String(row[1]), String(row[2]), Number(row[3]), String(row[4])])
  } finally {
    connection.closeSync()
  }
}

/** The store's rows of `devices` × `measures` in [from, to), as [time, device, measure, value, source], sorted. */
async function storeRows(
  fixture: LakePipelineFixture,
  devices: string[],
  measures: string[],
  from: number,
  to: number,
): Promise<Array<[number, string, string, number, string]>> {
  const rows: Array<[number, string, string, number, string]> = []
  for (const device of devices) {
    for (const measure of measures) {
      for (const r of await fixture.store.readingSeries(device, measure, from, to - 1)) {
        rows.push([r.time, r.deviceId, r.measure, r.value, r.source])
      }
    }
  }
  return rows.sort((a, b) => a[0] - b[0] || a[1].localeCompare(b[1]) || a[2].localeCompare(b[2]))
}

async function silverKeys(fixture: LakePipelineFixture): Promise<string[]> {
  const keys: string[] = []
  for await (const object of fixture.lake.list('silver/')) keys.push(object.key)
  return keys
}

describe('bronze -> silver', () => {
  it('writes typed, de-duplicated Parquet per source and reading day that DuckDB reads, holding the store rows', async () => {
    const fixture = await openLakePipeline(JAN31 + 12 * 3_600_000)
    try {
      const devices = ['dev-1', 'dev-2']
      const measures = ['temperature', 'humidity']
      // Late evening of the 30th to the morning of the 31st: two reading days in one receive day.
      await fixture.ingest('http', minuteReadings(JAN31 - 5 * MINUTE_MS, 10, devices, measures))
      await fixture.ingest('mqtt', [{ time: JAN31, deviceId: 'dev-9', measure: 'co2', value: 612 }])
      fixture.clock.advance(60_000)
      // A re-sent reading with a new value replaces the old one (last write wins), in the store and in silver.
      await fixture.ingest('http', [
        { time: JAN31 + MINUTE_MS, deviceId: 'dev-1', measure: 'temperature', value: 30 },
        { time: JAN31 + MINUTE_MS, deviceId: 'dev-1', measure: 'temperature', value: 31.25 },
      ])
      const report = await promoteToSilver(fixture)

      assert.deepEqual(await silverKeys(fixture), [
        'silver/http/_promoted.json',
        silverPartitionKey('http', '2024-01-30'),
        silverPartitionKey('http', '2024-01-31'),
        'silver/mqtt/_promoted.json',
        silverPartitionKey('mqtt', '2024-01-31'),
      ])
      assert.equal(report.rowsRead, 40 + 1 + 2)
      assert.equal(report.rowsWritten, 40 + 1, 'the two re-sent rows replace one row')
      assert.deepEqual(
        report.partitions.map((p) => [p.source, p.day, p.rows]),
        [
          ['http', '2024-01-30', 20],
          ['http', '2024-01-31', 20],
          ['mqtt', '2024-01-31', 1],
        ],
      )

      const files = ['2024-01-30', '2024-01-31'].map((day) =>
        fixture.lake.localPath(silverPartitionKey('http', day)),
      )
      const connection = await duck.connect()
      const schema = await connection.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet('${files[0]}')`)
      connection.closeSync()
      assert.deepEqual(
        schema.getRows().map((row) => [row[0], row[1]]),
        [
          ['time', 'TIMESTAMP WITH TIME ZONE'],
          ['device_id', 'VARCHAR'],
          ['measure', 'VARCHAR'],
          ['value', 'DOUBLE'],
          ['source', 'VARCHAR'],
          ['received_at', 'TIMESTAMP WITH TIME ZONE'],
          // DuckDB reads the hive-style folder `date=<day>` as a column, as Spark and pyarrow do.
          ['date', 'DATE'],
        ],
      )
      const silver = await parquetRows(files)
      assert.deepEqual(silver, await storeRows(fixture, devices, measures, JAN30, JAN31 + DAY_MS))
      assert.ok(
        silver.some(
          ([t, d, m, v]) => t === JAN31 + MINUTE_MS && d === 'dev-1' && m === 'temperature' && v === 31.25,
        ),
      )
      assert.deepEqual(
        await parquetRows([fixture.lake.localPath(silverPartitionKey('mqtt', '2024-01-31'))]),
        [[JAN31, 'dev-9', 'co2', 612, 'mqtt']],
      )
    } finally {
      await fixture.close()
    }
  })

  it('is idempotent and incremental: a re-run changes nothing, new bronze is merged, --day rebuilds the same', async () => {
    const fixture = await openLakePipeline(JAN31 + 12 * 3_600_000)
    try {
      const devices = ['dev-1', 'dev-2', 'dev-3']
      const measures = ['iaq', 'co2']
      await fixture.ingest('http', minuteReadings(JAN31, 30, devices, measures))
      const first = await promoteToSilver(fixture, { source: 'http' })
      assert.equal(first.rowsWritten, 180)
      const key = silverPartitionKey('http', '2024-01-31')
      const file = fixture.lake.localPath(key)
      const bytes = await readFile(file)

      const again = await promoteToSilver(fixture, { source: 'http' })
      assert.equal(again.segments, 0)
      assert.deepEqual(again.partitions, [])
      assert.deepEqual(await readFile(file), bytes, 'the partition is untouched')

      // More readings land in the same (still open) bronze segment, some replacing earlier values.
      fixture.clock.advance(60_000)
      await fixture.ingest('http', [
        ...minuteReadings(JAN31 + 30 * MINUTE_MS, 10, devices, measures),
        { time: JAN31, deviceId: 'dev-2', measure: 'iaq', value: 77 },
      ])
      const merged = await promoteToSilver(fixture, { source: 'http' })
      assert.equal(merged.segments, 1)
      assert.equal(merged.rowsWritten, 240)
      const expected = await storeRows(fixture, devices, measures, JAN31, JAN31 + DAY_MS)
      assert.equal(expected.length, 240)
      assert.deepEqual(await parquetRows([file]), expected)

      const rebuilt = await promoteToSilver(fixture, { source: 'http', day: '2024-01-31' })
      assert.deepEqual(
        rebuilt.partitions.map((p) => [p.day, p.rows, p.rebuilt]),
        [['2024-01-31', 240, true]],
      )
      assert.deepEqual(await parquetRows([file]), expected)
    } finally {
      await fixture.close()
    }
  })

  it('leaves no half partition visible when a run fails half-way, and the next run finishes the job', async () => {
    const fixture = await openLakePipeline(JAN31 + 12 * 3_600_000)
    try {
      const devices = ['dev-1', 'dev-2']
      const measures = ['temperature']
      await fixture.ingest('http', minuteReadings(JAN31 - 30 * MINUTE_MS, 60, devices, measures))
      // The engine dies while writing the second day's file: half a file is on the local disk.
      let written = 0
      const crashing: Columnar = {
        kind: fixture.columnar.kind,
        exportReadings: (query) => fixture.columnar.exportReadings(query),
        querySilver: (files, sql, params) => fixture.columnar.querySilver(files, sql, params),
        close: async () => {},
        openStaging: async (): Promise<ColumnarStaging> => {
          const staging = await fixture.columnar.openStaging()
          return {
            append: (rows) => staging.append(rows),
            appendSilver: (files) => staging.appendSilver(files),
            count: () => staging.count(),
            days: () => staging.days(),
            close: () => staging.close(),
            writeSilverDay: async (day, file) => {
              const rows = await staging.writeSilverDay(day, file)
              if (++written === 2) {
                const whole = await readFile(file)
                await import('node:fs/promises').then((fs) =>
                  fs.writeFile(file, whole.subarray(0, whole.length >> 1)),
                )
                throw new Error('simulated crash while writing Parquet')
              }
              return rows
            },
          }
        },
      }
      await assert.rejects(promoteToSilver({ ...fixture, columnar: crashing }), /simulated crash/)

      const visible = await silverKeys(fixture)
      assert.deepEqual(
        visible,
        [silverPartitionKey('http', '2024-01-30')],
        'only the whole first partition, no manifest, no temporary file',
      )
      assert.equal(
        (await parquetRows([fixture.lake.localPath(visible[0] ?? '')])).length,
        60,
        'what is visible is whole',
      )

      const retry = await promoteToSilver(fixture)
      assert.equal(retry.segments, 1, 'the unfinished segment is promoted again')
      assert.deepEqual(
        retry.partitions.map((p) => [p.day, p.rows]),
        [
          ['2024-01-30', 60],
          ['2024-01-31', 60],
        ],
      )
      const files = ['2024-01-30', '2024-01-31'].map((day) =>
        fixture.lake.localPath(silverPartitionKey('http', day)),
      )
      assert.deepEqual(
        await parquetRows(files),
        await storeRows(fixture, devices, measures, JAN30, JAN31 + DAY_MS),
      )
    } finally {
      await fixture.close()
    }
  })

  it('skips unreadable bronze lines with their reasons, and waits for a line still being written', async () => {
    const fixture = await openLakePipeline()
    try {
      const key = 'bronze/vendor/2024-01-31/manual.ndjson'
      const line = (time: number, value: number) =>
        JSON.stringify({
          receivedAt: JAN31 + DAY_MS,
          source: 'vendor',
          raw: '{}',
          rows: [[time, 'dev-1', 'co2', value]],
        })
      const torn = line(JAN31 + 2 * MINUTE_MS, 420)
      await fixture.lake.append(
        key,
        `${line(JAN31, 400)}\nnot json\n${JSON.stringify({ receivedAt: 1, rows: [[JAN31, 'dev-1', 'co2', 'high']] })}\n${line(JAN31 + MINUTE_MS, 410)}\n${torn.slice(0, 20)}`,
      )
      const first = await promoteToSilver(fixture, { source: 'vendor' })
      assert.equal(first.invalidLines, 2)
      assert.equal(first.problems.length, 2)
      assert.match(first.problems[0] ?? '', /manual\.ndjson line 2: not JSON/)
      assert.match(first.problems[1] ?? '', /line 3: a row is not \[timeMs, device, measure, value\]/)
      assert.equal(first.rowsWritten, 2)

      await fixture.lake.append(key, `${torn.slice(20)}\n`)
      const second = await promoteToSilver(fixture, { source: 'vendor' })
      assert.equal(second.rowsWritten, 3, 'the completed line is promoted once whole')
      const rows = await parquetRows([fixture.lake.localPath(silverPartitionKey('vendor', '2024-01-31'))])
      assert.deepEqual(
        rows.map(([t, , , v]) => [t, v]),
        [
          [JAN31, 400],
          [JAN31 + MINUTE_MS, 410],
          [JAN31 + 2 * MINUTE_MS, 420],
        ],
      )
    } finally {
      await fixture.close()
    }
  })

  it('`airlake lake build-silver` prints progress lines and a one-line summary', async () => {
    const fixture = await openLakePipeline(JAN31 + 12 * 3_600_000)
    let output = { stdout: '', stderr: '' }
    try {
      await fixture.ingest('http', minuteReadings(JAN31, 5, ['dev-1'], ['iaq']))
      const program = new Command('airlake').exitOverride()
      lakeCommand(program, async () => fixture as unknown as App)
      output = await captureOutput(async () => {
        await program.parseAsync(['lake', 'build-silver', '--day', '2024-01-31'], { from: 'user' })
        await program.parseAsync(['lake', 'build-silver'], { from: 'user' })
      })
    } finally {
      await fixture.close()
    }
    const out = output.stdout.split(/(?<=\n)/)
    assert.match(output.stderr, /^silver http: 1\/1 segments, 5 rows read\n$/)
    assert.equal(out.length, 2)
    assert.match(
      out[0] ?? '',
      /^Silver built: 1 segments, 5 rows read -> 1 partitions, 5 rows, in \d+\.\d s \([\d,]+ rows\/s\)\.\n$/,
    )
    assert.equal(out[1], 'Silver is up to date: no new bronze segments.\n')
  })
})
