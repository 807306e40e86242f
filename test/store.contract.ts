/**
 * The store contract: what every `Store` adapter must do, written once and run against each adapter
 * (test/store-duckdb.test.ts, test/store-postgres.test.ts). Each test opens a fresh, empty store.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { isAirlakeError } from '../src/core/errors.js'
import type {
  ModelVersionRecord,
  RunRecord,
  SeriesPageQuery,
  ShadowForecast,
  Store,
} from '../src/core/ports/store.js'
import { MINUTE_MS } from '../src/core/time.js'
import type { Prediction, Reading } from '../src/core/types.js'

const T0 = Date.UTC(2024, 2, 10, 8, 0)
const at = (minute: number) => T0 + minute * MINUTE_MS

function reading(
  minute: number,
  measure: string,
  value: number,
  deviceId = 'dev-a',
  source = 'http',
): Reading {
  return { time: at(minute), deviceId, measure, value, source }
}

function prediction(minute: number, measureName: string, value: number, deviceId = 'dev-a'): Prediction {
  return {
    time: at(minute),
    deviceId,
    measureName,
    value,
    modelVersion: 'iaq-ridge@1',
    issuedAt: at(minute - 5),
  }
}

function versionInput(
  model: string,
  createdAt: number,
): Omit<ModelVersionRecord, 'version'> & { task: string } {
  return {
    model,
    task: 'forecast',
    algorithm: 'ridge',
    signature: { inputs: [{ name: 'iaq', shape: [60] }], outputs: [{ name: 'iaq', shape: [15] }] },
    metrics: { mae: 3.25, rmse: 4.5 },
    params: { alpha: 1, window: 60 },
    snapshotId: 'snap-1',
    artifactKey: `models/${model}/${createdAt}`,
    runId: 'run-1',
    createdAt,
    description: 'first try',
  }
}

/** Every time (ms) in `rows`, in order of appearance without repeats. */
function distinctTimes(rows: readonly { time: number }[]): number[] {
  return [...new Set(rows.map((r) => r.time))]
}

/** Orders `[time, measure, value]` cells by time, then measure. */
function byCell(a: unknown[], b: unknown[]): number {
  return Number(a[0]) - Number(b[0]) || String(a[1]).localeCompare(String(b[1]))
}

/** Registers the contract tests for one adapter; `open` returns a new empty, migrated store each call. */
export function storeContract(name: string, open: () => Promise<Store>): void {
  async function withStore(work: (store: Store) => Promise<void>): Promise<void> {
    const store = await open()
    try {
      await work(store)
    } finally {
      await store.close()
    }
  }

  describe(`${name} store contract`, () => {
    it('migrate is safe to run again, and ping answers', () =>
      withStore(async (store) => {
        await store.writeReadings([reading(0, 'iaq', 50)])
        await store.migrate()
        await store.migrate()
        await store.ping()
        assert.equal(await store.countReadings(), 1)
      }))

    it('upserts readings on (device, measure, time): last write wins, across calls and within one call', () =>
      withStore(async (store) => {
        const first = await store.writeReadings([reading(0, 'iaq', 50), reading(0, 'co2', 400)])
        assert.deepEqual(first, { stored: 2 })
        await store.writeReadings([reading(0, 'iaq', 55, 'dev-a', 'mqtt')])
        const within = await store.writeReadings([
          reading(1, 'iaq', 60),
          reading(1, 'iaq', 61),
          reading(1, 'iaq', 62),
          reading(1, 'co2', 410),
        ])
        assert.deepEqual(within, { stored: 2 })
        assert.equal(await store.countReadings(), 4)
        const series = await store.readingSeries('dev-a', 'iaq', at(0), at(1))
        assert.deepEqual(series, [reading(0, 'iaq', 55, 'dev-a', 'mqtt'), reading(1, 'iaq', 62)])
        assert.deepEqual(await store.writeReadings([]), { stored: 0 })
      }))

    it('takes concurrent overlapping batches without errors, one value per key', () =>
      withStore(async (store) => {
        const batch = (writer: number) =>
          Array.from({ length: 300 }, (_, i) =>
            reading(i % 100, ['iaq', 'co2', 'voc'][i % 3]!, writer * 1000 + i, `dev-${(i + writer) % 4}`),
          )
        const reports = await Promise.all([1, 2, 3, 4].map((writer) => store.writeReadings(batch(writer))))
        assert.deepEqual(reports, [{ stored: 300 }, { stored: 300 }, { stored: 300 }, { stored: 300 }])
        const keys = new Set(
          [1, 2, 3, 4].flatMap((w) => batch(w).map((r) => `${r.deviceId}/${r.measure}/${r.time}`)),
        )
        assert.equal(await store.countReadings(), keys.size)
        const series = await store.readingSeries('dev-1', 'iaq', at(0), at(100))
        assert.ok(
          series.every((r) => [1, 2, 3, 4].some((w) => r.value >= w * 1000 && r.value < w * 1000 + 300)),
        )
        const latest = await store.latestReadings()
        assert.equal(new Set(latest.map((r) => `${r.deviceId}/${r.measure}`)).size, latest.length)
      }))

    it('refuses a reading that cannot be stored, writing nothing of the batch', () =>
      withStore(async (store) => {
        await assert.rejects(
          store.writeReadings([reading(0, 'iaq', 50), reading(1, 'iaq', Number.NaN)]),
          (error: unknown) => isAirlakeError(error, 'READING_INVALID'),
        )
        assert.equal(await store.countReadings(), 0)
      }))

    it('keeps devices with first and last seen from the readings', () =>
      withStore(async (store) => {
        await store.writeReadings([
          reading(10, 'iaq', 1),
          reading(20, 'iaq', 1),
          reading(5, 'iaq', 1, 'dev-b', 'mqtt'),
        ])
        await store.writeReadings([reading(3, 'co2', 1), reading(30, 'co2', 1)])
        assert.deepEqual(await store.getDevice('dev-a'), {
          id: 'dev-a',
          name: undefined,
          source: 'http',
          location: undefined,
          firstSeen: at(3),
          lastSeen: at(30),
        })
        await store.describeDevice({ id: 'dev-a', source: 'http', name: 'Kitchen', location: 'Dublin' })
        await store.writeReadings([reading(40, 'iaq', 1)])
        const devices = await store.listDevices()
        assert.deepEqual(
          devices.map((d) => d.id),
          ['dev-a', 'dev-b'],
        )
        assert.deepEqual(devices[0], {
          id: 'dev-a',
          name: 'Kitchen',
          source: 'http',
          location: 'Dublin',
          firstSeen: at(3),
          lastSeen: at(40),
        })
        assert.equal(devices[1]?.source, 'mqtt')
        assert.equal(await store.getDevice('nope'), undefined)
        await store.describeDevice({ id: 'dev-c', source: 'openaq', name: 'Roof' })
        assert.equal((await store.getDevice('dev-c'))?.name, 'Roof')
      }))

    it('pages readings newest first, bounds inclusive, measures filtered, every row exactly once', () =>
      withStore(async (store) => {
        const rows: Reading[] = []
        for (let minute = 0; minute < 10; minute++) {
          for (const measure of ['temperature', 'iaq', 'co2']) rows.push(reading(minute, measure, minute))
        }
        rows.push(reading(5, 'iaq', 99, 'dev-b'))
        await store.writeReadings(rows)

        const first = await store.readingsPage({ deviceId: 'dev-a', from: at(2), to: at(8), limitTimes: 3 })
        assert.deepEqual(distinctTimes(first), [at(8), at(7), at(6)])
        assert.deepEqual(
          first.slice(0, 3).map((r) => r.measure),
          ['co2', 'iaq', 'temperature'],
        )
        assert.equal(first.length, 9)

        // A reading arriving between pages must neither repeat nor shift the rows of later pages.
        await store.writeReadings([reading(9, 'voc', 1), reading(8, 'voc', 1)])
        const seen = [...first]
        let before = first.at(-1)?.time
        for (;;) {
          const page = await store.readingsPage({
            deviceId: 'dev-a',
            from: at(2),
            to: at(8),
            before,
            limitTimes: 3,
          })
          if (page.length === 0) break
          seen.push(...page)
          before = page.at(-1)?.time
        }
        assert.deepEqual(distinctTimes(seen), [8, 7, 6, 5, 4, 3, 2].map(at))
        const keys = seen.map((r) => `${r.time}/${r.measure}`)
        assert.equal(new Set(keys).size, keys.length)
        assert.equal(seen.length, 21)
        assert.ok(seen.every((r) => r.deviceId === 'dev-a'))

        const filtered = await store.readingsPage({
          deviceId: 'dev-a',
          from: at(0),
          to: at(9),
          measures: ['iaq', 'voc'],
          limitTimes: 2,
        })
        assert.deepEqual(
          filtered.map((r) => [r.time, r.measure]),
          [
            [at(9), 'iaq'],
            [at(9), 'voc'],
            [at(8), 'iaq'],
            [at(8), 'voc'],
          ],
        )
        assert.deepEqual(
          await store.readingsPage({
            deviceId: 'dev-a',
            from: at(0),
            to: at(9),
            measures: [],
            limitTimes: 5,
          }),
          [],
        )
        assert.deepEqual(
          await store.readingsPage({ deviceId: 'dev-a', from: at(20), to: at(30), limitTimes: 5 }),
          [],
        )
        const single = await store.readingsPage({ deviceId: 'dev-a', from: at(4), to: at(4), limitTimes: 5 })
        assert.deepEqual(distinctTimes(single), [at(4)])
      }))

    it('pivots a page of readings as the long page holds it', () =>
      withStore(async (store) => {
        const rows: Reading[] = []
        for (let minute = 0; minute < 10; minute++) {
          for (const measure of ['temperature', 'iaq', 'co2']) {
            if ((minute + measure.length) % 4 !== 0) rows.push(reading(minute, measure, minute * 1.5 - 3))
          }
        }
        rows.push(reading(11, 'voc', 0.25), reading(5, 'iaq', 99, 'dev-b'))
        await store.writeReadings(rows)
        const queries: SeriesPageQuery[] = [
          { deviceId: 'dev-a', from: at(0), to: at(20), limitTimes: 100 },
          { deviceId: 'dev-a', from: at(2), to: at(8), limitTimes: 3 },
          { deviceId: 'dev-a', from: at(0), to: at(20), before: at(6), limitTimes: 4 },
          { deviceId: 'dev-a', from: at(0), to: at(20), measures: ['voc', 'co2', 'pm25'], limitTimes: 5 },
          { deviceId: 'dev-a', from: at(4), to: at(4), measures: ['iaq'], limitTimes: 1 },
          { deviceId: 'dev-b', from: at(0), to: at(20), limitTimes: 10 },
        ]
        for (const query of queries) {
          const grid = await store.readingsGrid(query)
          const long = await store.readingsPage(query)
          const what = JSON.stringify(query)
          assert.deepEqual(grid.measures, query.measures ?? (await store.listMeasures(query.deviceId)), what)
          assert.deepEqual([...grid.times], distinctTimes(long), what)
          assert.equal(grid.values.length, grid.times.length * grid.measures.length, what)
          const cells = grid.measures.flatMap((measure, j) =>
            Array.from(grid.times, (time, i) => [time, measure, grid.values[i * grid.measures.length + j]]),
          )
          assert.deepEqual(
            cells.filter(([, , value]) => !Number.isNaN(value)).sort(byCell),
            long.map((r) => [r.time, r.measure, r.value]).sort(byCell),
            what,
          )
        }
        const none = { deviceId: 'dev-a', from: at(20), to: at(30), limitTimes: 5 }
        assert.deepEqual((await store.readingsGrid(none)).times.length, 0)
        const nothingAsked = await store.readingsGrid({ ...none, from: at(0), measures: [] })
        assert.deepEqual([nothingAsked.measures, nothingAsked.times.length], [[], 0])
        const unknown = await store.readingsGrid({ ...none, deviceId: 'nobody', from: at(0) })
        assert.deepEqual([unknown.measures, unknown.times.length], [[], 0])
        await assert.rejects(store.readingsGrid({ ...none, limitTimes: 0 }), /limitTimes/)
        const twice = await store.readingsGrid({ ...none, from: at(0), measures: ['co2', 'iaq', 'co2'] })
        const once = await store.readingsGrid({ ...none, from: at(0), measures: ['co2', 'iaq'] })
        assert.deepEqual(twice, once, 'a measure asked twice is one column')
      }))

    it('pages times that hold many rows whole, the same on every call', () =>
      withStore(async (store) => {
        // More names per time than a store may expect (DuckDB caps its first read by rows per time).
        const names = Array.from({ length: 100 }, (_, i) => `m${String(i).padStart(3, '0')}`)
        const rows: Reading[] = []
        const forecasts: Prediction[] = []
        for (let minute = 0; minute < 5; minute++) {
          for (const [i, name] of names.entries()) {
            rows.push(reading(minute, name, minute * 100 + i, 'dev-w'))
            forecasts.push(prediction(minute, `${name}~5`, minute * 100 + i, 'dev-w'))
          }
        }
        await store.writeReadings(rows)
        await store.writePredictions(forecasts)
        const query = { deviceId: 'dev-w', from: at(0), to: at(4), limitTimes: 2 }
        const newest = rows.filter((r) => r.time >= at(3)).sort((a, b) => b.time - a.time)
        for (let call = 0; call < 2; call++) {
          assert.deepEqual(await store.readingsPage(query), newest)
          const page = await store.predictionsPage(query)
          assert.deepEqual(distinctTimes(page), [at(4), at(3)])
          assert.equal(page.length, 200)
          assert.deepEqual(
            page.slice(0, 100).map((p) => p.measureName),
            names.map((name) => `${name}~5`),
          )
        }
        const older = await store.readingsPage({ ...query, before: at(3), limitTimes: 5 })
        assert.deepEqual(distinctTimes(older), [at(2), at(1), at(0)])
        assert.equal(older.length, 300)
      }))

    it('lists latest readings, measures and counts, and deletes old readings', () =>
      withStore(async (store) => {
        await store.writeReadings([
          reading(0, 'iaq', 10),
          reading(2, 'iaq', 12, 'dev-a', 'file:a.csv'),
          reading(1, 'co2', 400),
          reading(1, 'pm25', 7, 'dev-b', 'openaq'),
        ])
        assert.deepEqual(await store.latestReadings(), [
          reading(1, 'co2', 400),
          reading(2, 'iaq', 12, 'dev-a', 'file:a.csv'),
          reading(1, 'pm25', 7, 'dev-b', 'openaq'),
        ])
        await store.writeReadings([reading(1, 'iaq', 11)])
        assert.deepEqual((await store.latestReadings())[1], reading(2, 'iaq', 12, 'dev-a', 'file:a.csv'))
        assert.deepEqual(await store.listMeasures(), ['co2', 'iaq', 'pm25'])
        assert.deepEqual(await store.listMeasures('dev-a'), ['co2', 'iaq'])
        assert.deepEqual(await store.listMeasures('none'), [])
        assert.equal(await store.countReadings(), 5)
        assert.equal(await store.countReadings({ deviceId: 'dev-a' }), 4)
        assert.equal(await store.countReadings({ source: 'openaq' }), 1)
        assert.equal(await store.countReadings({ deviceId: 'dev-a', source: 'http' }), 3)
        assert.equal(await store.deleteReadingsBefore(at(1)), 1)
        assert.equal(await store.deleteReadingsBefore(at(1)), 0)
        assert.equal(await store.countReadings(), 4)
        assert.equal(await store.deleteReadingsBefore(at(2)), 3)
        assert.deepEqual(await store.latestReadings(), [reading(2, 'iaq', 12, 'dev-a', 'file:a.csv')])
        assert.deepEqual(await store.listMeasures(), ['iaq'])
      }))

    it('upserts and pages predictions like readings', () =>
      withStore(async (store) => {
        const first = await store.writePredictions([
          prediction(10, 'iaq~5', 50),
          prediction(10, 'iaq~5', 51),
          prediction(10, 'iaq~10', 52),
          prediction(11, 'iaq~5', 53),
          prediction(12, 'iaq~5', 54, 'dev-b'),
        ])
        assert.deepEqual(first, { stored: 4 })
        await store.writePredictions([{ ...prediction(11, 'iaq~5', 60), modelVersion: 'iaq-gbdt@2' }])
        const page = await store.predictionsPage({
          deviceId: 'dev-a',
          from: at(0),
          to: at(20),
          limitTimes: 10,
        })
        assert.deepEqual(page, [
          { ...prediction(11, 'iaq~5', 60), modelVersion: 'iaq-gbdt@2' },
          prediction(10, 'iaq~10', 52),
          prediction(10, 'iaq~5', 51),
        ])
        const next = await store.predictionsPage({
          deviceId: 'dev-a',
          from: at(0),
          to: at(20),
          before: at(11),
          measures: ['iaq~5'],
          limitTimes: 10,
        })
        assert.deepEqual(next, [prediction(10, 'iaq~5', 51)])
        assert.equal(await store.countPredictions(), 4)
        assert.equal(await store.countPredictions({ deviceId: 'dev-b' }), 1)
        assert.equal(await store.deletePredictionsBefore(at(11)), 2)
        assert.equal(await store.countPredictions(), 2)
      }))

    it('keeps each name and time of whole forecasts to its last write, and cuts forecasts at the retention time', () =>
      withStore(async (store) => {
        // As the forecaster writes them: iaq~h at base + h, issued together at the base minute.
        const forecast = (base: number, version: string, horizons: readonly number[]): Prediction[] =>
          horizons.map((h) => ({
            time: at(base + h),
            deviceId: 'dev-a',
            measureName: `iaq~${h}`,
            value: 100 * base + h + (version.endsWith('@2') ? 0.5 : 0),
            modelVersion: version,
            issuedAt: at(base),
          }))
        const all = Array.from({ length: 15 }, (_, i) => i + 1)
        await store.writePredictions(forecast(0, 'iaq-ridge@1', all))
        // A later write of two of its names and times, by another version, replaces those two only.
        await store.writePredictions(forecast(0, 'iaq-gbdt@2', [2, 3]))
        await store.writePredictions(forecast(1, 'iaq-ridge@1', all))
        // Names without a horizon, or with one written unusually, come back as written.
        const odd: Prediction[] = [
          { ...prediction(3, 'iaq', 7), issuedAt: at(1) },
          { ...prediction(3, 'iaq~03', 8), issuedAt: at(1) },
        ]
        await store.writePredictions(odd)
        assert.equal(await store.countPredictions(), 32)
        const page = (from: number, to: number) =>
          store.predictionsPage({ deviceId: 'dev-a', from: at(from), to: at(to), limitTimes: 100 })
        const expected = [
          ...forecast(0, 'iaq-ridge@1', [1]),
          ...forecast(1, 'iaq-ridge@1', [1]),
          ...forecast(0, 'iaq-gbdt@2', [2]),
          ...forecast(1, 'iaq-ridge@1', [2]),
          odd[0]!,
          ...forecast(0, 'iaq-gbdt@2', [3]),
          odd[1]!,
        ]
        const byTimeDescName = (a: Prediction, b: Prediction) =>
          b.time - a.time || (a.measureName < b.measureName ? -1 : a.measureName > b.measureName ? 1 : 0)
        assert.deepEqual(await page(0, 3), expected.sort(byTimeDescName))
        assert.equal((await page(0, 100)).length, 32)

        // Retention removes what is older than the cut, also from forecasts that straddle it.
        assert.equal(await store.deletePredictionsBefore(at(5)), 4 + 3 + 2)
        assert.equal(await store.countPredictions(), 23)
        assert.deepEqual(
          await page(5, 6),
          [...forecast(0, 'iaq-ridge@1', [5, 6]), ...forecast(1, 'iaq-ridge@1', [4, 5])].sort(byTimeDescName),
        )
        assert.equal(await store.deletePredictionsBefore(at(5)), 0)
        assert.equal(await store.deletePredictionsBefore(at(17)), 23)
        assert.equal(await store.countPredictions(), 0)
      }))

    it('puts actuals and 5/10/15-minute forecasts side by side in forecast_vs_actual (the Grafana view)', () =>
      withStore(async (store) => {
        await store.writeReadings([
          reading(0, 'iaq', 50),
          reading(1, 'iaq', 51),
          reading(1, 'co2', 400),
          reading(1, 'iaq', 70, 'dev-b'),
        ])
        await store.writePredictions([
          prediction(1, 'iaq~5', 49),
          prediction(1, 'iaq~10', 48),
          prediction(1, 'iaq~15', 47),
          prediction(1, 'iaq~3', 0),
          prediction(2, 'iaq~5', 53),
          prediction(1, 'iaq~5', 69, 'dev-b'),
        ])
        await store.migrate()
        const rows = await store.query(
          `SELECT * FROM forecast_vs_actual
           WHERE device_id = $1 AND measure = $2 AND time BETWEEN $3 AND $4 ORDER BY time`,
          ['dev-a', 'iaq', new Date(at(0)), new Date(at(30))],
        )
        assert.deepEqual(
          rows.map((r) => Object.keys(r)),
          rows.map(() => [
            'device_id',
            'measure',
            'time',
            'actual',
            'forecast_5',
            'forecast_10',
            'forecast_15',
          ]),
        )
        const side = (r: Record<string, unknown>) => ({ ...r, time: new Date(r.time as Date).getTime() })
        const row = (
          minute: number,
          actual: number | null,
          f5: number | null,
          f10: number | null,
          f15: number | null,
        ) => ({
          device_id: 'dev-a',
          measure: 'iaq',
          time: at(minute),
          actual,
          forecast_5: f5,
          forecast_10: f10,
          forecast_15: f15,
        })
        assert.deepEqual(rows.map(side), [
          row(0, 50, null, null, null),
          row(1, 51, 49, 48, 47),
          // a minute forecast but not measured yet still shows, ahead of the actuals
          row(2, null, 53, null, null),
        ])
        const co2 = await store.query(
          `SELECT actual, forecast_5 FROM forecast_vs_actual WHERE measure = 'co2'`,
        )
        assert.deepEqual(co2, [{ actual: 400, forecast_5: null }])
        const others = await store.query(
          `SELECT device_id, actual, forecast_5 FROM forecast_vs_actual WHERE device_id = 'dev-b'`,
        )
        assert.deepEqual(others, [{ device_id: 'dev-b', actual: 70, forecast_5: 69 }])
      }))

    it('runs read-only SQL with parameters and refuses writes', () =>
      withStore(async (store) => {
        await store.writeReadings([reading(0, 'iaq', 50), reading(1, 'iaq', 52)])
        const rows = await store.query(
          'SELECT count(*) AS n, max(value) AS top FROM readings WHERE device_id = $1 AND value > $2',
          ['dev-a', 49],
        )
        assert.deepEqual(rows, [{ n: 2, top: 52 }])
        await assert.rejects(store.query('DELETE FROM readings'), (error: unknown) => isAirlakeError(error))
        assert.equal(await store.countReadings(), 2)
      }))

    it('keeps rejections newest first with ids', () =>
      withStore(async (store) => {
        await store.writeRejections([
          {
            receivedAt: at(0),
            source: 'http',
            reason: 'humidity 130 is impossible',
            code: 'READING_IMPOSSIBLE',
            payload: '{"h":130}',
          },
          {
            receivedAt: at(2),
            source: 'mqtt',
            reason: 'not JSON',
            code: 'READING_INVALID',
            payload: 'garbage',
          },
          { receivedAt: at(1), source: 'http', reason: 'no device', code: 'READING_INVALID', payload: '{}' },
        ])
        const all = await store.listRejections()
        assert.deepEqual(
          all.map((r) => r.payload),
          ['garbage', '{}', '{"h":130}'],
        )
        assert.equal(new Set(all.map((r) => r.id)).size, 3)
        assert.ok(all.every((r) => Number.isInteger(r.id)))
        const http = await store.listRejections({ source: 'http', limit: 1 })
        assert.deepEqual(
          http.map(({ id: _id, ...r }) => r),
          [
            {
              receivedAt: at(1),
              source: 'http',
              reason: 'no device',
              code: 'READING_INVALID',
              payload: '{}',
            },
          ],
        )
        assert.equal(await store.countRejections(), 3)
        assert.equal(await store.countRejections({ source: 'mqtt' }), 1)
      }))

    it('creates, lists, touches and revokes API keys', () =>
      withStore(async (store) => {
        await store.createKey({ id: 'k1', name: 'dashboard', hash: 'a'.repeat(64), createdAt: at(0) })
        await store.createKey({ id: 'k2', name: 'ci', hash: 'b'.repeat(64), createdAt: at(1) })
        assert.deepEqual(await store.getKey('k1'), {
          id: 'k1',
          name: 'dashboard',
          hash: 'a'.repeat(64),
          createdAt: at(0),
          revokedAt: undefined,
          lastUsedAt: undefined,
        })
        await store.touchKey('k1', at(5))
        assert.equal(await store.revokeKey('k1', at(6)), true)
        assert.equal(await store.revokeKey('k1', at(9)), true)
        assert.equal(await store.revokeKey('nope', at(6)), false)
        const k1 = await store.getKey('k1')
        assert.equal(k1?.lastUsedAt, at(5))
        assert.equal(k1?.revokedAt, at(6))
        assert.deepEqual(
          (await store.listKeys()).map((k) => k.id),
          ['k1', 'k2'],
        )
        assert.equal(await store.getKey('nope'), undefined)
      }))

    it('numbers model versions per model and moves aliases', () =>
      withStore(async (store) => {
        const v1 = await store.createModelVersion(versionInput('iaq', at(0)))
        const v2 = await store.createModelVersion({ ...versionInput('iaq', at(1)), snapshotId: undefined })
        const other = await store.createModelVersion({ ...versionInput('co2', at(2)), task: 'forecast' })
        assert.deepEqual([v1.version, v2.version, other.version], [1, 2, 1])
        const { task: _task, ...expected } = versionInput('iaq', at(0))
        assert.deepEqual(v1, { ...expected, version: 1 })
        assert.deepEqual(await store.getModelVersion('iaq', 1), { ...expected, version: 1 })
        assert.equal((await store.getModelVersion('iaq', 2))?.snapshotId, undefined)
        assert.equal(await store.getModelVersion('iaq', 3), undefined)
        assert.deepEqual(
          (await store.listModelVersions('iaq')).map((v) => v.version),
          [2, 1],
        )
        assert.equal((await store.listModelVersions()).length, 3)

        await store.setAlias('iaq', 'champion', 1)
        await store.setAlias('iaq', 'challenger', 2)
        await store.setAlias('iaq', 'champion', 2)
        await assert.rejects(store.setAlias('iaq', 'champion', 7), (error: unknown) =>
          isAirlakeError(error, 'MODEL_NOT_FOUND'),
        )
        await assert.rejects(store.setAlias('nope', 'champion', 1), (error: unknown) =>
          isAirlakeError(error, 'MODEL_NOT_FOUND'),
        )
        assert.deepEqual(await store.getModel('iaq'), {
          name: 'iaq',
          task: 'forecast',
          createdAt: at(0),
          latestVersion: 2,
          aliases: { champion: 2, challenger: 2 },
        })
        assert.equal(await store.deleteAlias('iaq', 'challenger'), true)
        assert.equal(await store.deleteAlias('iaq', 'challenger'), false)
        assert.deepEqual(await store.listAliases(), [{ model: 'iaq', alias: 'champion', version: 2 }])
        assert.deepEqual(
          (await store.listModels()).map((m) => [m.name, m.latestVersion]),
          [
            ['co2', 1],
            ['iaq', 2],
          ],
        )
        assert.equal(await store.getModel('nope'), undefined)
      }))

    it('numbers concurrent model versions without gaps or repeats', () =>
      withStore(async (store) => {
        const versions = await Promise.all(
          Array.from({ length: 6 }, (_, i) => store.createModelVersion(versionInput('iaq', at(i)))),
        )
        assert.deepEqual(versions.map((v) => v.version).sort(), [1, 2, 3, 4, 5, 6])
      }))

    it('saves, replaces and lists runs, and keeps their logs in order', () =>
      withStore(async (store) => {
        const run: RunRecord = {
          id: 'run-1',
          kind: 'train',
          status: 'running',
          params: { device: 'dev-a', horizon: 15 },
          steps: [
            {
              name: 'time-series',
              status: 'succeeded',
              startedAt: at(0),
              endedAt: at(1),
              outputs: { rows: 10 },
            },
          ],
          metrics: {},
          artifacts: {},
          createdAt: at(0),
          startedAt: at(0),
        }
        await store.saveRun(run)
        await store.saveRun({
          id: 'run-0',
          kind: 'quality',
          status: 'failed',
          params: {},
          steps: [],
          metrics: {},
          artifacts: {},
          createdAt: at(-1),
          error: 'too few rows',
        })
        const finished: RunRecord = {
          ...run,
          status: 'succeeded',
          endedAt: at(3),
          metrics: { mae: 2.5 },
          artifacts: { report: 'runs/run-1/report.json' },
        }
        await store.saveRun(finished)
        assert.deepEqual(await store.getRun('run-1'), { ...finished, error: undefined })
        assert.equal(await store.getRun('nope'), undefined)
        assert.deepEqual(
          (await store.listRuns()).map((r) => r.id),
          ['run-1', 'run-0'],
        )
        assert.deepEqual(
          (await store.listRuns({ status: 'failed' })).map((r) => [r.id, r.error]),
          [['run-0', 'too few rows']],
        )
        assert.deepEqual(
          (await store.listRuns({ kind: 'train', limit: 1 })).map((r) => r.id),
          ['run-1'],
        )

        await Promise.all(
          ['loading', 'training', 'evaluating'].map((message, i) =>
            store.appendRunLog({ runId: 'run-1', time: at(i), level: 'info', message }),
          ),
        )
        await store.appendRunLog({ runId: 'run-0', time: at(0), level: 'error', message: 'failed' })
        const logs = await store.listRunLogs('run-1')
        assert.deepEqual(
          logs.map((l) => l.seq),
          [1, 2, 3],
        )
        assert.deepEqual(logs.map((l) => l.message).sort(), ['evaluating', 'loading', 'training'])
        assert.deepEqual(
          (await store.listRunLogs('run-1', 2)).map((l) => l.seq),
          [3],
        )
        assert.deepEqual(await store.listRunLogs('run-0'), [
          { runId: 'run-0', seq: 1, time: at(0), level: 'error', message: 'failed' },
        ])
      }))

    it('takes shadow forecasts once, and deletes old ones', () =>
      withStore(async (store) => {
        const shadow = (arm: string, horizon: number, minute: number, value: number): ShadowForecast => ({
          selector: 'dev-a/iaq',
          deviceId: 'dev-a',
          measure: 'iaq',
          time: at(minute),
          horizon,
          arm,
          value,
          issuedAt: at(minute - horizon),
        })
        await store.writeShadowForecasts([
          shadow('iaq@2', 1, 10, 50),
          shadow('iaq@1', 1, 10, 49),
          shadow('iaq@1', 2, 10, 48),
          shadow('iaq@1', 1, 11, 47),
          shadow('iaq@1', 1, 5, 47),
        ])
        await store.writeShadowForecasts([shadow('iaq@1', 1, 10, 45)])
        assert.deepEqual(await store.takeShadowForecasts('dev-a', 'iaq', at(10)), [
          shadow('iaq@1', 1, 10, 45),
          shadow('iaq@1', 2, 10, 48),
          shadow('iaq@2', 1, 10, 50),
        ])
        assert.deepEqual(await store.takeShadowForecasts('dev-a', 'iaq', at(10)), [])
        assert.equal(await store.deleteShadowForecastsBefore(at(11)), 1)
        assert.deepEqual(await store.takeShadowForecasts('dev-a', 'iaq', at(11)), [
          shadow('iaq@1', 1, 11, 47),
        ])
      }))

    it('accumulates bandit rewards, keeps selection history and pins', () =>
      withStore(async (store) => {
        await store.addReward('dev-a/iaq', 'iaq@1', 0.5, at(0))
        await Promise.all([
          store.addReward('dev-a/iaq', 'iaq@1', 0.25, at(1)),
          store.addReward('dev-a/iaq', 'iaq@1', 0.25, at(1)),
        ])
        await store.addReward('dev-a/iaq', 'iaq@2', 0, at(2), 0)
        await store.addReward('dev-b/iaq', 'iaq@1', 1, at(3), 2)
        assert.deepEqual(await store.listArms('dev-a/iaq'), [
          { selector: 'dev-a/iaq', arm: 'iaq@1', pulls: 3, rewardSum: 1, updatedAt: at(1) },
          { selector: 'dev-a/iaq', arm: 'iaq@2', pulls: 0, rewardSum: 0, updatedAt: at(2) },
        ])
        assert.equal((await store.listArms()).length, 3)

        await store.appendSelectionEvents([
          { selector: 'dev-a/iaq', time: at(0), kind: 'choice', arm: 'iaq@1' },
          {
            selector: 'dev-a/iaq',
            time: at(1),
            kind: 'reward',
            arm: 'iaq@1',
            value: 0.5,
            details: { error: 1.2 },
          },
          { selector: 'dev-b/iaq', time: at(2), kind: 'pin', arm: 'iaq@2' },
        ])
        const events = await store.listSelectionEvents({ selector: 'dev-a/iaq' })
        assert.deepEqual(events, [
          {
            selector: 'dev-a/iaq',
            time: at(1),
            kind: 'reward',
            arm: 'iaq@1',
            value: 0.5,
            details: { error: 1.2 },
          },
          {
            selector: 'dev-a/iaq',
            time: at(0),
            kind: 'choice',
            arm: 'iaq@1',
            value: undefined,
            details: undefined,
          },
        ])
        assert.deepEqual(
          (await store.listSelectionEvents({ kind: 'pin' })).map((e) => e.selector),
          ['dev-b/iaq'],
        )
        assert.equal((await store.listSelectionEvents({ limit: 1 }))[0]?.kind, 'pin')

        assert.equal(await store.getPin('dev-a/iaq'), undefined)
        await store.setPin('dev-a/iaq', 'iaq@2')
        await store.setPin('dev-a/iaq', 'iaq@1')
        assert.equal(await store.getPin('dev-a/iaq'), 'iaq@1')
        await store.setPin('dev-a/iaq', undefined)
        assert.equal(await store.getPin('dev-a/iaq'), undefined)
      }))

    it('keeps small state values', () =>
      withStore(async (store) => {
        assert.equal(await store.getState('openaq.cursor'), undefined)
        await store.setState('openaq.cursor', '2024-03-10T08:00:00Z')
        await store.setState('openaq.cursor', '2024-03-10T09:00:00Z')
        assert.equal(await store.getState('openaq.cursor'), '2024-03-10T09:00:00Z')
      }))

    it('refuses calls after close', async () => {
      const store = await open()
      await store.close()
      await assert.rejects(store.countReadings(), (error: unknown) =>
        isAirlakeError(error, 'STORE_UNAVAILABLE'),
      )
    })
  })
}
