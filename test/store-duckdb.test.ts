/** The store contract against DuckDB (a fresh file per test), plus what only the embedded store does. */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { DuckDBInstance } from '@duckdb/node-api'
import { TableWriter, TEXT_BOUND_ROWS } from '../src/adapters/duckdb/duckdb-append.js'
import { duckdbMigrations } from '../src/adapters/duckdb/duckdb-migrations.js'
import { DuckdbStore, MERGED_ROWS } from '../src/adapters/duckdb/duckdb-store.js'
import { isAirlakeError } from '../src/core/errors.js'
import type { Prediction, Reading } from '../src/core/types.js'
import { storeContract } from './store.contract.js'

let dir = ''
let count = 0

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlake-store-duckdb-'))
})

after(async () => {
  await rm(dir, { recursive: true, force: true })
})

const JAN_1 = Date.UTC(2024, 0, 1)

/** `count` readings of device `dev`'s `iaq`, one a minute from 2024-01-01, valued `value`, `value + 1`, … */
function minutes(count: number, value: number): Reading[] {
  return Array.from({ length: count }, (_, i) => ({
    time: JAN_1 + i * 60_000,
    deviceId: 'dev',
    measure: 'iaq',
    value: value + i,
    source: 'http',
  }))
}

/** Resolves after `count` turns of the microtask queue (within one turn of the event loop). */
async function microtasks(count: number): Promise<void> {
  for (let i = 0; i < count; i++) await Promise.resolve()
}

/** Runs `work` on the store in a fresh file `name`, and closes it. */
async function withStore(name: string, work: (store: DuckdbStore) => Promise<void>): Promise<void> {
  const store = await DuckdbStore.open(join(dir, name))
  try {
    await work(store)
  } finally {
    await store.close()
  }
}

storeContract('DuckDB', () => DuckdbStore.open(join(dir, `contract-${++count}.duckdb`)))

describe('DuckDB store', () => {
  it('keeps the predictions of a store made before forecasts were stored one row each', async () => {
    const path = join(dir, 'before-forecasts.duckdb')
    // The store as migration 7 left it, with a few predictions.
    const instance = await DuckDBInstance.create(path)
    const c = await instance.connect()
    await c.run(
      'CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)',
    )
    for (const migration of duckdbMigrations.filter((m) => m.version <= 7)) {
      for (const statement of migration.statements) await c.run(statement)
      await c.run('INSERT INTO schema_migrations VALUES ($1, $2, now()::TIMESTAMP)', [
        migration.version,
        migration.name,
      ])
    }
    const old: Prediction[] = [
      {
        time: JAN_1 + 300_000,
        deviceId: 'dev',
        measureName: 'iaq~5',
        value: 1.5,
        modelVersion: 'm@1',
        issuedAt: JAN_1,
      },
      {
        time: JAN_1 + 600_000,
        deviceId: 'dev',
        measureName: 'iaq~10',
        value: 2.25,
        modelVersion: 'm@1',
        issuedAt: JAN_1,
      },
      {
        time: JAN_1 + 120_000,
        deviceId: 'dev',
        measureName: 'iaq',
        value: 3,
        modelVersion: 'm@1',
        issuedAt: JAN_1,
      },
    ]
    for (const p of old) {
      await c.run(
        `INSERT INTO predictions VALUES (make_timestamp($1 * 1000), $2, $3, $4, $5, make_timestamp($6 * 1000))`,
        [p.time, p.deviceId, p.measureName, p.value, p.modelVersion, p.issuedAt],
      )
    }
    c.closeSync()
    instance.closeSync()

    await withStore('before-forecasts.duckdb', async (store) => {
      const page = () =>
        store.predictionsPage({ deviceId: 'dev', from: JAN_1, to: JAN_1 + 3_600_000, limitTimes: 10 })
      assert.deepEqual(await page(), [old[1], old[0], old[2]])
      // A new forecast of the same names and times replaces them, as it would have in the old table.
      await store.writePredictions([{ ...old[1]!, value: 9, modelVersion: 'm@2', issuedAt: JAN_1 + 1 }])
      assert.deepEqual(await page(), [
        { ...old[1]!, value: 9, modelVersion: 'm@2', issuedAt: JAN_1 + 1 },
        old[0],
        old[2],
      ])
      assert.equal(await store.countPredictions(), 3)
      // The side-by-side view reads the new predictions.
      const side = await store.query("SELECT forecast_5 FROM forecast_vs_actual WHERE device_id = 'dev'")
      assert.equal(side.length, 2)
    })
  })

  it('sweeps the forecast rows a later forecast wholly covers, and reads the same before and after', () =>
    withStore('sweep.duckdb', async (store) => {
      const forecast = (version: string, issued: number, horizons: number, value: number): Prediction[] =>
        Array.from({ length: horizons }, (_, i) => ({
          time: JAN_1 + (i + 1) * 60_000,
          deviceId: 'dev',
          measureName: `iaq~${i + 1}`,
          value: value + i,
          modelVersion: version,
          issuedAt: JAN_1 + issued,
        }))
      // Three forecasts of the same minutes (a sensor reporting thrice within the minute), then a shorter
      // one by another version, which covers only part of the third.
      await store.writePredictions(forecast('m@1', 0, 15, 100))
      await store.writePredictions(forecast('m@1', 5_000, 15, 200))
      await store.writePredictions(forecast('m@1', 10_000, 15, 300))
      await store.writePredictions(forecast('m@2', 15_000, 3, 400))
      const rows = async () => Number((await store.query('SELECT count(*) AS n FROM forecasts'))[0]?.n)
      const page = () =>
        store.predictionsPage({ deviceId: 'dev', from: JAN_1, to: JAN_1 + 3_600_000, limitTimes: 100 })
      const before = await page()
      assert.equal(await rows(), 4)
      assert.equal(await store.sweepForecasts(JAN_1), 2)
      assert.equal(await rows(), 2)
      assert.deepEqual(await page(), before)
      assert.deepEqual(
        before.slice(-3).map((p) => [p.measureName, p.value, p.modelVersion]),
        [
          ['iaq~3', 402, 'm@2'],
          ['iaq~2', 401, 'm@2'],
          ['iaq~1', 400, 'm@2'],
        ],
      )
      assert.equal(before[0]?.value, 314)
      assert.equal(await store.sweepForecasts(JAN_1), 0)
    }))

  it('keeps data across reopen and applies each migration once', async () => {
    const path = join(dir, 'reopen.duckdb')
    const first = await DuckdbStore.open(path)
    await first.writeReadings([
      { time: Date.UTC(2024, 0, 1), deviceId: 'd', measure: 'iaq', value: 3, source: 'http' },
    ])
    await first.close()
    const second = await DuckdbStore.open(path)
    try {
      assert.equal(await second.countReadings(), 1)
      const migrations = await second.query(
        'SELECT version, count(*) AS n FROM schema_migrations GROUP BY version ORDER BY version',
      )
      assert.ok(migrations.length >= 4)
      assert.ok(migrations.every((m) => m.n === 1))
    } finally {
      await second.close()
    }
  })

  it('writes device and series summaries behind the readings, and rebuilds them after a crash', async () => {
    const path = join(dir, 'summaries.duckdb')
    const at = Date.UTC(2024, 0, 1)
    const store = await DuckdbStore.open(path)
    await store.writeReadings([
      { time: at, deviceId: 'a', measure: 'iaq', value: 1, source: 'http' },
      { time: at + 60_000, deviceId: 'a', measure: 'iaq', value: 2, source: 'http' },
      { time: at, deviceId: 'b', measure: 'co2', value: 400, source: 'mqtt' },
    ])
    // Read from memory at once, whatever the tables hold yet.
    assert.deepEqual(
      (await store.latestReadings()).map((r) => [r.deviceId, r.measure, r.value]),
      [
        ['a', 'iaq', 2],
        ['b', 'co2', 400],
      ],
    )
    assert.equal((await store.getDevice('a'))?.lastSeen, at + 60_000)
    await store.close()

    // Closed cleanly: the tables are complete. Now make them look like a crash after the next write.
    const writer = await DuckDBInstance.create(path)
    const c = await writer.connect()
    assert.deepEqual(
      (await c.runAndReadAll('SELECT device_id, value FROM latest_readings ORDER BY 1')).getRows(),
      [
        ['a', 2],
        ['b', 400],
      ],
    )
    await c.run(`INSERT INTO readings VALUES (TIMESTAMP '2024-01-01 00:05:00', 'c', 'iaq', 9, 'http')`)
    await c.run(`UPDATE state SET value = 'open' WHERE key = 'duckdb.summaries'`)
    c.closeSync()
    writer.closeSync()

    const reopened = await DuckdbStore.open(path)
    try {
      assert.deepEqual(
        (await reopened.latestReadings()).map((r) => [r.deviceId, r.value]),
        [
          ['a', 2],
          ['b', 400],
          ['c', 9],
        ],
      )
      const c = await reopened.getDevice('c')
      assert.equal(c?.firstSeen, at + 5 * 60_000)
      assert.equal(c?.source, 'http')
    } finally {
      await reopened.close()
    }
  })

  it('writes concurrent calls together, the last call winning a key written by several', async () => {
    await withStore('grouped.duckdb', async (store) => {
      const at = Date.UTC(2024, 0, 1)
      // Count the statements: calls made in one turn of the event loop share one, none left to go alone.
      const write = TableWriter.prototype.write
      let statements = 0
      TableWriter.prototype.write = function (this: TableWriter<unknown>, rows) {
        statements++
        return write.call(this, rows)
      }
      let calls: Array<Promise<{ stored: number }>>
      try {
        // Each call a few microtasks later than the one before, as requests' handlers reach the store.
        calls = Array.from({ length: 50 }, async (_, i) => {
          await microtasks(i)
          return store.writeReadings([
            { time: at, deviceId: 'shared', measure: 'iaq', value: i, source: 'http' },
            { time: at + i * 60_000, deviceId: `own-${i}`, measure: 'iaq', value: i, source: 'http' },
          ])
        })
        assert.deepEqual(
          await Promise.all(calls),
          calls.map(() => ({ stored: 2 })),
        )
      } finally {
        TableWriter.prototype.write = write
      }
      assert.equal(statements, 1, '50 calls in one turn, one statement')
      assert.equal(await store.countReadings(), 51)
      const [shared] = await store.readingSeries('shared', 'iaq', at, at)
      assert.equal(shared?.value, 49)
      const forecasts = Array.from({ length: 20 }, (_, i) =>
        store.writePredictions([
          { time: at, deviceId: 'shared', measureName: 'iaq~1', value: i, modelVersion: 'm@1', issuedAt: at },
        ]),
      )
      await Promise.all(forecasts)
      const [latest] = await store.predictionsPage({ deviceId: 'shared', from: at, to: at, limitTimes: 1 })
      assert.equal(latest?.value, 19)
    })
  })

  it('writes large concurrent calls one statement each, in call order, the later call winning', async () => {
    await withStore('grouped-large.duckdb', async (store) => {
      const write = TableWriter.prototype.write
      const sizes: number[] = []
      TableWriter.prototype.write = function (this: TableWriter<unknown>, rows) {
        sizes.push(rows.length)
        return write.call(this, rows)
      }
      try {
        const big = MERGED_ROWS + 10
        // Two small calls merge; each large one goes alone; the last large call rewrites the first's rows.
        await Promise.all([
          store.writeReadings(minutes(3, 0)),
          store.writeReadings(minutes(2, 100)),
          store.writeReadings(minutes(big, 1000)),
          store.writeReadings(minutes(big + 5, 5000)),
        ])
        assert.deepEqual(sizes, [3, big, big + 5])
      } finally {
        TableWriter.prototype.write = write
      }
      const series = await store.readingSeries('dev', 'iaq', JAN_1, JAN_1 + 10_000 * 60_000)
      assert.equal(series.length, MERGED_ROWS + 15)
      assert.deepEqual([series[0]?.value, series.at(-1)?.value], [5000, 5000 + MERGED_ROWS + 14])
    })
  })

  it('writes small batches as bound texts and large ones by the appender, the last write winning either way', async () => {
    await withStore('two-paths.duckdb', async (store) => {
      const at = JAN_1
      const rows = minutes
      await store.writeReadings(rows(TEXT_BOUND_ROWS + 100, 0)) // appender, all new
      await store.writeReadings(rows(10, 1000)) // texts, all stored already
      await store.writeReadings(rows(TEXT_BOUND_ROWS + 200, 2000)) // appender, some new
      await store.writeReadings(rows(TEXT_BOUND_ROWS + 300, 3000).slice(TEXT_BOUND_ROWS + 150)) // texts, some new
      const series = await store.readingSeries('dev', 'iaq', at, at + (TEXT_BOUND_ROWS + 300) * 60_000)
      assert.equal(series.length, TEXT_BOUND_ROWS + 300)
      assert.deepEqual(
        [series[0]?.value, series[TEXT_BOUND_ROWS + 149]?.value, series.at(-1)?.value],
        [2000, 2000 + TEXT_BOUND_ROWS + 149, 3000 + TEXT_BOUND_ROWS + 299],
      )
      assert.equal(series[5]?.time, at + 5 * 60_000)
    })
  })

  it('keeps rewriting stored keys, concurrently and many times over', async () => {
    // Each rewrite makes the insert fail and fall back to the upsert. A failed appender that was closed with
    // its rows still in it flushed them again when collected, aborting a later transaction.
    await withStore('rewrites.duckdb', async (store) => {
      const at = Date.UTC(2024, 0, 1)
      const batch = (i: number, value: number): Reading[] =>
        Array.from({ length: 6 }, (_, m) => ({
          time: at + (i % 100) * 60_000,
          deviceId: `dev-${i % 10}`,
          measure: `m${m}`,
          value,
          source: 'http',
        }))
      for (let round = 0; round < 40; round++) {
        await Promise.all(Array.from({ length: 32 }, (_, i) => store.writeReadings(batch(i, round))))
      }
      assert.equal(await store.countReadings(), 32 * 6)
      const [last] = await store.readingSeries('dev-3', 'm2', at + 3 * 60_000, at + 3 * 60_000)
      assert.equal(last?.value, 39)
    })
  })

  it('keeps keys unique across a reopen, whichever path writes them', async () => {
    const path = join(dir, 'unique-after-reopen.duckdb')
    const at = JAN_1
    const readings = (value: number, count: number) => minutes(count, value)
    const predictions = (value: number): Prediction[] =>
      Array.from({ length: 15 }, (_, h) => ({
        time: at + (h + 1) * 60_000,
        deviceId: 'dev',
        measureName: `iaq~${h + 1}`,
        value: value + h,
        modelVersion: 'm@1',
        issuedAt: at,
      }))
    const first = await DuckdbStore.open(path)
    await first.writeReadings(readings(0, 3))
    await first.writePredictions(predictions(0))
    await first.close()
    for (const reopened of [1, 2]) {
      const store = await DuckdbStore.open(path)
      try {
        await store.writeReadings(readings(100 * reopened, 2)) // the first two minutes again
        await store.writeReadings(readings(100 * reopened, TEXT_BOUND_ROWS + 10)) // and through the appender
        await store.writePredictions(predictions(100 * reopened))
        assert.equal(await store.countReadings(), TEXT_BOUND_ROWS + 10)
        assert.equal(await store.countPredictions(), 15)
        const [firstMinute] = await store.readingSeries('dev', 'iaq', at, at)
        assert.equal(firstMinute?.value, 100 * reopened)
        const [forecast] = await store.predictionsPage({
          deviceId: 'dev',
          from: at,
          to: at + 60_000,
          limitTimes: 1,
        })
        assert.equal(forecast?.value, 100 * reopened)
      } finally {
        await store.close()
      }
    }
  })

  it('stores strings holding the text separator, commas, quotes and non-ASCII letters', async () => {
    await withStore('strings.duckdb', async (store) => {
      const at = Date.UTC(2024, 0, 1)
      const odd = ['a\u001fb', 'pm2.5, µg/m³', 'say "hi"', '[1,2]']
      await store.writeReadings(
        odd.map((source, i) => ({ time: at, deviceId: 'dev', measure: odd[i]!, value: i, source })),
      )
      const rows = await store.query('SELECT measure, source, value FROM readings ORDER BY value')
      assert.deepEqual(
        rows.map((row) => [row.measure, row.source]),
        odd.map((text) => [text, text]),
      )
    })
  })

  it('says clearly what to do when another airlake process holds the file', async () => {
    const path = join(dir, 'locked.duckdb')
    const storeModule = new URL('../src/adapters/duckdb/duckdb-store.ts', import.meta.url).href
    const holder = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '-e',
        `import(${JSON.stringify(storeModule)}).then(({ DuckdbStore }) => DuckdbStore.open(${JSON.stringify(path)})).then(() => { console.log('ready'); setInterval(() => {}, 1000) })`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    )
    try {
      await new Promise<void>((resolve, reject) => {
        holder.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && resolve())
        holder.on('exit', (code) => reject(new Error(`the lock holder exited with ${code}`)))
      })
      await assert.rejects(
        DuckdbStore.open(path),
        (error: unknown) =>
          isAirlakeError(error, 'CONFLICT') &&
          error.message.includes(`the embedded store at ${path} is in use by a running airlake server`) &&
          error.message.includes('use the HTTP API') &&
          error.message.includes('DATABASE_URL=postgres://'),
      )
    } finally {
      holder.kill()
    }
  })
})

describe('DuckDB compaction of closed days', () => {
  const DAY = 86_400_000
  /** Twelve devices' `iaq`, one a minute for the whole of `day`, time-major as a fleet sends it. */
  function fleetDay(day: number, devices = 12): Reading[] {
    const rows: Reading[] = []
    for (let m = 0; m < 1440; m++) {
      for (let d = 0; d < devices; d++) {
        const deviceId = `dev-${String(d).padStart(2, '0')}`
        rows.push({ time: day + m * 60_000, deviceId, measure: 'iaq', value: d * 10_000 + m, source: 'http' })
      }
    }
    return rows
  }
  const everything = (store: DuckdbStore) =>
    store.query('SELECT time, device_id, measure, value, source FROM readings ORDER BY ALL')
  /** Device ids of `day` in the order the table holds them (no ORDER BY: DuckDB keeps insertion order). */
  const physicalDevices = async (store: DuckdbStore, day: number) =>
    (
      await store.query('SELECT device_id FROM readings WHERE time >= $1 AND time < $2', [
        new Date(day),
        new Date(day + DAY),
      ])
    ).map((row) => String(row.device_id))

  it('rewrites each closed day device by device, in pieces, keeping every reading', async () => {
    await withStore('compact.duckdb', async (store) => {
      const today = Math.floor(Date.now() / DAY) * DAY
      const [older, yesterday] = [JAN_1, today - DAY]
      for (const day of [older, yesterday, today]) await store.writeReadings(fleetDay(day))
      const before = await everything(store)
      const interleaved = await physicalDevices(store, older)
      assert.notDeepEqual(interleaved, [...interleaved].sort())

      const report = await store.compact()
      const closed = [older, yesterday].filter((day) => day + DAY + 3_600_000 <= Date.now())
      assert.deepEqual(
        report.days,
        closed.map((day) => new Date(day).toISOString().slice(0, 10)),
      )
      assert.equal(report.readings, 12 * 1440 * closed.length)
      // 17,280 readings a day: more than one piece of at most 16,384.
      assert.equal(report.pieces, 2 * closed.length)
      // The pass ends with a checkpoint, so the rewritten rows' old copies are out of the file's scans.
      const wal = await stat(join(dir, 'compact.duckdb.wal')).catch(() => ({ size: 0 }))
      assert.ok(wal.size < 64 * 1024, `the log holds ${wal.size} bytes after compaction`)
      assert.deepEqual(await everything(store), before)
      const compacted = await physicalDevices(store, older)
      assert.deepEqual(compacted, [...interleaved].sort())
      // Today is still open: left as it came.
      assert.deepEqual(await physicalDevices(store, today), interleaved)
      assert.deepEqual((await store.compact()).days, [])
      const page = await store.readingsPage({
        deviceId: 'dev-03',
        from: older,
        to: older + DAY - 1,
        limitTimes: 2,
      })
      assert.deepEqual(
        page.map((r) => [r.time, r.value]),
        [
          [older + 1439 * 60_000, 31_439],
          [older + 1438 * 60_000, 31_438],
        ],
      )
    })
  })

  it('compacts a day again once late readings grew it, and the latest write of a key still wins', async () => {
    await withStore('compact-late.duckdb', async (store) => {
      await store.writeReadings(fleetDay(JAN_1))
      assert.deepEqual((await store.compact()).days, ['2024-01-01'])
      // A rewrite of one key and a few late readings: under 2% growth, nothing to do.
      await store.writeReadings([
        { time: JAN_1, deviceId: 'dev-00', measure: 'iaq', value: -1, source: 'late' },
      ])
      assert.deepEqual((await store.compact()).days, [])
      // A late device: 1,440 more readings (8%) and the day is compacted again, the rewrite kept.
      await store.writeReadings(fleetDay(JAN_1, 13).filter((r) => r.deviceId === 'dev-12'))
      assert.deepEqual((await store.compact()).days, ['2024-01-01'])
      const [first] = await store.readingSeries('dev-00', 'iaq', JAN_1, JAN_1)
      assert.deepEqual([first?.value, first?.source], [-1, 'late'])
      assert.equal(await store.countReadings(), 13 * 1440)
      // Retention removes the day: its record goes with it.
      await store.deleteReadingsBefore(JAN_1 + DAY)
      await store.compact()
      assert.deepEqual(await store.query('SELECT * FROM compacted_days'), [])
    })
  })

  it('loses no reading written while a day is being compacted', async () => {
    await withStore('compact-concurrent.duckdb', async (store) => {
      await store.writeReadings(fleetDay(JAN_1, 24))
      const late = fleetDay(JAN_1 + DAY, 24)
      const writes: Array<Promise<unknown>> = []
      const compaction = store.compact()
      for (let i = 0; i < late.length; i += 1000) {
        writes.push(store.writeReadings(late.slice(i, i + 1000)))
        // Rewrites of keys being compacted, interleaved with its pieces.
        writes.push(
          store.writeReadings([
            { time: JAN_1 + i * 60, deviceId: 'dev-05', measure: 'iaq', value: -i, source: 'x' },
          ]),
        )
        await nextTurn()
      }
      await Promise.all([compaction, ...writes])
      assert.equal(await store.countReadings(), 2 * 24 * 1440)
      const rewritten = await store.readingSeries('dev-05', 'iaq', JAN_1, JAN_1 + DAY)
      assert.equal(rewritten.filter((r) => r.source === 'x').length, Math.ceil(late.length / 1000))
    })
  })

  it('refuses a duty outside (0, 1]', async () => {
    await withStore('compact-duty.duckdb', async (store) => {
      assert.throws(() => store.compact({ duty: 0 }), /duty must be in \(0, 1\], is 0/)
    })
  })
})
