import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { AirlakeError } from '../core/errors.js'
import { formatRecordTime } from '../core/time.js'
import {
  decodePageToken,
  encodePageToken,
  orderMeasures,
  pivotRows,
  queryFingerprint,
  recordTimeFormatter,
  seriesEnvelope,
  splitPage,
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

describe('pivotRows', () => {
  test('one record per time, newest first, values as strings and null where a measure is missing', () => {
    const rows = [
      { time: t0, measure: 'iaq', value: 132 },
      { time: t0, measure: 'temperature', value: 25.2173 },
      { time: t0 + 60_000, measure: 'temperature', value: 25.3 },
    ]
    const { columns, records } = pivotRows(rows)
    assert.deepEqual(columns, ['temperature', 'iaq'])
    assert.deepEqual(records, [
      ['2023-02-07 11:30:00.000000000', '25.3', null],
      ['2023-02-07 11:29:00.000000000', '25.2173', '132'],
    ])
  })
  test('keeps the asked columns, even without values, and drops other measures', () => {
    const { columns, records } = pivotRows([{ time: t0, measure: 'co2', value: 400 }], ['iaq', 'co2'])
    assert.deepEqual(columns, ['iaq', 'co2'])
    assert.deepEqual(records, [['2023-02-07 11:29:00.000000000', null, '400']])
  })
  test('pivots rows newest first (the order of the stores) as it pivots any other order', () => {
    const rows: Array<{ time: number; measure: string; value: number }> = []
    for (let minute = 0; minute < 200; minute++) {
      for (const measure of ['co2', 'humidity', 'iaq', 'pm25', 'temperature']) {
        if ((minute + measure.length) % 7 === 0) continue
        rows.push({ time: t0 - minute * 60_000 - (minute % 3) * 1001, measure, value: minute / 7 - 3 })
      }
    }
    const shuffled = rows
      .map((row, i) => ({ row, key: (i * 7919) % rows.length }))
      .sort((a, b) => a.key - b.key)
    const expected = pivotRows(shuffled.map((s) => s.row))
    assert.deepEqual(pivotRows(rows), expected)
    assert.deepEqual(
      pivotRows(rows, ['iaq', 'voc', 'co2']),
      pivotRows(
        shuffled.map((s) => s.row),
        ['iaq', 'voc', 'co2'],
      ),
    )
    assert.equal(expected.records.length, 200)
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

describe('splitPage', () => {
  const rows = [3, 3, 2, 2, 1].map((time, i) => ({ time, i }))
  test('drops the extra oldest time and continues before the oldest time kept', () => {
    assert.deepEqual(splitPage(rows, 2), { rows: rows.slice(0, 4), nextBefore: 2 })
  })
  test('ends paging when the store had no more times than asked', () => {
    assert.deepEqual(splitPage(rows, 3), { rows, nextBefore: undefined })
    assert.deepEqual(splitPage([], 3), { rows: [], nextBefore: undefined })
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
