import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { AirlakeError } from '../core/errors.js'
import { formatRecordTime } from '../core/time.js'
import {
  decodePageToken,
  encodePageToken,
  formatValue,
  gridOf,
  orderMeasures,
  queryFingerprint,
  recordTimeFormatter,
  seriesEnvelope,
  seriesEnvelopeJson,
  shownColumns,
} from './envelope.js'

const t0 = Date.UTC(2023, 1, 7, 11, 29)

describe('orderMeasures', () => {
  test('puts the vendor measures first in vendor order, then the rest by name', () => {
    assert.deepEqual(
      orderMeasures(['voc', 'pm25', 'co2', 'temperature', 'iaq', 'nox', 'humidity', 'pressure']),
      ['temperature', 'humidity', 'pressure', 'iaq', 'co2', 'voc', 'nox', 'pm25'],
    )
  })
  test('orders forecast names by measure, then horizon as a number', () => {
    assert.deepEqual(orderMeasures(['iaq~10', 'iaq~2', 'co2~1', 'iaq~1', 'iaq~15']), [
      'iaq~1',
      'iaq~2',
      'iaq~10',
      'iaq~15',
      'co2~1',
    ])
  })
})

describe('gridOf', () => {
  test('one row per time, newest first, NaN where a measure has no value', () => {
    const grid = gridOf([
      { time: t0, measure: 'iaq', value: 132 },
      { time: t0, measure: 'temperature', value: 25.2173 },
      { time: t0 + 60_000, measure: 'temperature', value: 25.3 },
    ])
    assert.deepEqual(grid.measures, ['iaq', 'temperature'])
    assert.deepEqual([...grid.times], [t0 + 60_000, t0])
    assert.deepEqual([...grid.values], [Number.NaN, 25.3, 132, 25.2173])
  })
  test('keeps the asked columns, even without values, and drops other measures', () => {
    const grid = gridOf(
      [
        { time: t0, measure: 'co2', value: 400 },
        { time: t0 + 60_000, measure: 'voc', value: 1 },
      ],
      ['iaq', 'co2'],
    )
    assert.deepEqual(grid.measures, ['iaq', 'co2'])
    assert.deepEqual([...grid.times], [t0])
    assert.deepEqual([...grid.values], [Number.NaN, 400])
  })
})

describe('shownColumns', () => {
  const grid = gridOf([
    { time: t0 + 60_000, measure: 'iaq', value: 1 },
    { time: t0 + 60_000, measure: 'temperature', value: 2 },
    { time: t0, measure: 'voc', value: 3 },
  ])
  test('shows the measures with a value in the rows served, vendor order first', () => {
    assert.deepEqual(
      shownColumns(grid, 2, false).map((j) => grid.measures[j]),
      ['temperature', 'iaq', 'voc'],
    )
    assert.deepEqual(
      shownColumns(grid, 1, false).map((j) => grid.measures[j]),
      ['temperature', 'iaq'],
    )
  })
  test('shows every asked measure in the asked order', () => {
    assert.deepEqual(shownColumns(grid, 1, true), [0, 1, 2])
  })
})

describe('seriesEnvelopeJson', () => {
  const page = { sourceType: 'SensorsData', queryId: 'q', pagesConsumed: 2, nextToken: 'abc' }
  test('writes the records of the rows served: time, then values as strings and null where absent', () => {
    const grid = gridOf([
      { time: t0, measure: 'iaq', value: 132 },
      { time: t0, measure: 'temperature', value: 25.2173 },
      { time: t0 + 60_000, measure: 'temperature', value: 25.3 },
      { time: t0 - 60_000, measure: 'iaq', value: 7 },
    ])
    const columns = shownColumns(grid, 2, false)
    const text = seriesEnvelopeJson({ ...page, grid, rows: 2, columns })
    const expected = seriesEnvelope({
      ...page,
      columns: ['temperature', 'iaq'],
      records: [
        ['2023-02-07 11:30:00.000000000', '25.3', null],
        ['2023-02-07 11:29:00.000000000', '25.2173', '132'],
      ],
    })
    assert.equal(text, JSON.stringify(expected))
  })
  test('is the text JSON.stringify writes of the same envelope, for any values and times', () => {
    let state = 7
    const random = () => {
      state = (state * 1_103_515_245 + 12_345) % 2 ** 31
      return state / 2 ** 31
    }
    const names = ['co2', 'iaq', 'x"y', 'temperature', 'pm25']
    const rows = Array.from({ length: 500 }, (_, i) => ({
      time: t0 - Math.floor(i / 3) * 60_123,
      measure: names[Math.floor(random() * names.length)]!,
      value: [0, -0, 1e21, 1e-7, -3.5, 25.2, random() * 1e6 - 5e5, 2 ** 53 + 2, -1.2345678901234567e-6][
        Math.floor(random() * 9)
      ]!,
    }))
    const grid = gridOf(rows)
    const served = grid.times.length - 3
    const columns = shownColumns(grid, served, false)
    const records = Array.from(grid.times.subarray(0, served), (time, i) => [
      formatRecordTime(time),
      ...columns.map((j) => {
        const value = grid.values[i * grid.measures.length + j]!
        return Number.isNaN(value) ? null : String(value)
      }),
    ])
    const expected = seriesEnvelope({ ...page, columns: columns.map((j) => grid.measures[j]!), records })
    assert.equal(seriesEnvelopeJson({ ...page, grid, rows: served, columns }), JSON.stringify(expected))
  })
})

describe('formatValue', () => {
  test('writes what String writes, for values of any number of decimals and sizes', () => {
    let state = 11
    const random = () => {
      state = (state * 1_103_515_245 + 12_345) % 2 ** 31
      return state / 2 ** 31
    }
    const values = [0, -0, 0.01, -0.01, 0.1, 0.29, 1.005, 9.995, 99.99, 100, 1e7 - 0.01, 1e7, 1e7 + 0.01, 1e9]
    values.push(2 ** 31, 2 ** 53, 1e21, 1e-7, 5e-324, Number.MAX_VALUE, Number.POSITIVE_INFINITY)
    // Large enough that doubles lie further apart than 0.01: a shorter text reads back to the same double.
    values.push(1e15 + 0.125, -(1e15 + 0.375), 2 ** 49 + 0.75, 98_765_432_109_876.5, 123_456_789_012.34)
    for (let i = 0; i < 200_000; i++) {
      const decimals = Math.floor(random() * 5)
      const size = 10 ** Math.floor(random() * 12 - 3)
      const value = Math.round((random() - 0.3) * size * 10 ** decimals) / 10 ** decimals
      values.push(value, value + 0.001 * random())
    }
    for (const value of values) assert.equal(formatValue(value), String(value), `value ${value}`)
  })
})

describe('recordTimeFormatter', () => {
  test('writes every time as formatRecordTime does', () => {
    const format = recordTimeFormatter()
    const times = [
      0,
      1,
      999,
      86_399_999,
      86_400_000,
      t0,
      t0 + 59_999,
      Date.UTC(9999, 11, 31, 23, 59, 59, 999),
    ]
    times.push(Date.UTC(10000, 0, 1), -1, -86_400_001, Date.UTC(1900, 0, 1, 12), 8.64e15, -8.64e15)
    for (let i = 0; i < 5000; i++)
      times.push(Math.floor(Math.abs(Math.sin(i + 1)) * 4e12) + (i % 17) * 86_399_937)
    for (const time of times) assert.equal(format(time), formatRecordTime(time), `time ${time}`)
  })
})

describe('page tokens', () => {
  const fingerprint = queryFingerprint({
    kind: 'readings',
    device: 'd1',
    from: 0,
    to: 10,
    measures: undefined,
  })

  test('round-trip the cursor', () => {
    const token = encodePageToken({ before: t0, pages: 3, fingerprint })
    assert.match(token, /^[A-Za-z0-9_-]+$/)
    assert.deepEqual(decodePageToken(token, fingerprint), { before: t0, pages: 3, fingerprint })
  })
  test('refuse a token of another query', () => {
    const other = queryFingerprint({ kind: 'readings', device: 'd2', from: 0, to: 10, measures: undefined })
    const token = encodePageToken({ before: t0, pages: 1, fingerprint: other })
    assert.throws(
      () => decodePageToken(token, fingerprint),
      (error: unknown) =>
        error instanceof AirlakeError &&
        error.code === 'PARAMETER_INVALID' &&
        /another query/.test(error.message),
    )
  })
  test('refuse damaged tokens', () => {
    for (const token of [
      '',
      'not a token',
      Buffer.from('[1,2]').toString('base64url'),
      Buffer.from('{"a":1}').toString('base64url'),
      'x'.repeat(600),
    ]) {
      assert.throws(
        () => decodePageToken(token, fingerprint),
        (error: unknown) => error instanceof AirlakeError && error.code === 'PARAMETER_INVALID',
      )
    }
  })
  test('fingerprints depend on every part, not on key order', () => {
    assert.equal(queryFingerprint({ a: 1, b: 'x' }), queryFingerprint({ b: 'x', a: 1 }))
    assert.notEqual(queryFingerprint({ a: 1, b: 'x' }), queryFingerprint({ a: 2, b: 'x' }))
    assert.notEqual(queryFingerprint({ m: ['iaq'] }), queryFingerprint({ m: ['co2'] }))
  })
})

test('seriesEnvelope has the seed shape', () => {
  const envelope = seriesEnvelope({
    sourceType: 'SensorsData',
    columns: ['temperature'],
    records: [],
    queryId: 'q',
    pagesConsumed: 0,
    nextToken: null,
  })
  assert.deepEqual(envelope, {
    Records: [],
    Metadata: {
      SourceName: 'airlake',
      SourceType: 'SensorsData',
      SourceFormat: 'Timeserie',
      ColumnName: ['time', 'temperature'],
      ColumnType: ['timestamp', 'float'],
    },
    ExecutionInfo: { LastQueryId: 'q', NextTokenConsumed: 0, NextToken: null },
  })
})
