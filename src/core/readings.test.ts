import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { AirlakeError } from './errors.js'
import { readingFromLongRow, readingsFromVendor } from './readings.js'

const vendor = {
  devid: '7BB92D02D696C5C5',
  id: 630538,
  readings: [1, 25.2173, 51.5724, 100.9, 132, 862.3662, 1.1371],
  ts: 'Tue, 07 Feb 2023 11:29:19 GMT',
}

const invalid = (code: string, pattern: RegExp) => (e: unknown) =>
  e instanceof AirlakeError && e.code === code && pattern.test(e.message)

describe('readingsFromVendor', () => {
  it('stores six measures in the reference order, time truncated to the minute', () => {
    const rows = readingsFromVendor(vendor, 'http')
    assert.deepEqual(
      rows.map((r) => [r.measure, r.value]),
      [
        ['temperature', 25.2173],
        ['humidity', 51.5724],
        ['pressure', 100.9],
        ['iaq', 132],
        ['co2', 862.3662],
        ['voc', 1.1371],
      ],
    )
    assert.ok(rows.every((r) => r.time === Date.UTC(2023, 1, 7, 11, 29) && r.deviceId === vendor.devid))
  })
  it('names what is wrong', () => {
    assert.throws(
      () => readingsFromVendor({ ...vendor, devid: undefined }, 'http'),
      invalid('READING_INVALID', /"devid" is missing/),
    )
    assert.throws(
      () => readingsFromVendor({ ...vendor, readings: [1, 2, 3] }, 'http'),
      invalid('READING_INVALID', /7 numbers.*got 3 values/),
    )
    assert.throws(
      () => readingsFromVendor({ ...vendor, readings: [1, 2, 'x', 4, 5, 6, 7] }, 'http'),
      invalid('READING_INVALID', /readings\[2\] \(humidity\) must be a finite number/),
    )
    assert.throws(
      () => readingsFromVendor({ ...vendor, ts: 'soon' }, 'http'),
      invalid('TIME_INVALID', /cannot read the time/),
    )
    assert.throws(
      () => readingsFromVendor({ ...vendor, devid: 'a b' }, 'http'),
      invalid('READING_INVALID', /1–64 characters/),
    )
    assert.throws(
      () => readingsFromVendor({ ...vendor, devid: 'x'.repeat(65) }, 'http'),
      invalid('READING_INVALID', /1–64/),
    )
    assert.throws(() => readingsFromVendor([vendor], 'http'), invalid('READING_INVALID', /JSON object/))
  })
})

describe('readingFromLongRow', () => {
  it('accepts the documented field names and their aliases', () => {
    const row = readingFromLongRow(
      { time: '2023-02-07T11:29:19Z', device: 'd-1', measure: 'pm25', value: '12.5' },
      'file',
    )
    assert.deepEqual(row, {
      time: Date.UTC(2023, 1, 7, 11, 29),
      deviceId: 'd-1',
      measure: 'pm25',
      value: 12.5,
      source: 'file',
    })
    const alias = readingFromLongRow({ ts: 1675769359, device_id: 'd-1', measure: 'iaq', value: 3 }, 'mqtt', {
      truncate: false,
    })
    assert.equal(alias.time, 1675769359000)
  })
  it('refuses a bad measure name or a missing value', () => {
    assert.throws(
      () => readingFromLongRow({ time: 1, device: 'd', measure: '1x', value: 1 }, 'x'),
      /measure must start with a letter/,
    )
    assert.throws(
      () => readingFromLongRow({ time: 1, device: 'd', measure: 'iaq' }, 'x'),
      /"value" is missing/,
    )
  })
})
