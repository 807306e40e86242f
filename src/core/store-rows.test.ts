import assert from 'node:assert/strict'
import { test } from 'node:test'
import { lastPerKey, lastPerSeriesKey } from './store-rows.js'
import type { Reading } from './types.js'

function reading(deviceId: string, measure: string, minute: number, value: number): Reading {
  return { time: minute * 60_000, deviceId, measure, value, source: 'http' }
}

test('lastPerSeriesKey keeps the last of each (device, name, time), in the order of the kept rows', () => {
  const rows = [
    reading('a', 'iaq', 1, 1),
    reading('a', 'co2', 1, 2),
    reading('b', 'iaq', 1, 3),
    reading('a', 'iaq', 1, 4), // replaces the first
    reading('a', 'iaq', 2, 5),
    reading('b', 'iaq', 1, 6), // replaces the third
  ]
  const kept = lastPerSeriesKey(rows, (r) => r.measure)
  assert.deepEqual(
    kept.map((r) => r.value),
    [2, 4, 5, 6],
  )
  // The same answer as the string-keyed version it stands in for.
  assert.deepEqual(
    kept,
    lastPerKey(rows, (r) => `${r.deviceId}\u0000${r.measure}\u0000${r.time}`),
  )
})

test('lastPerSeriesKey returns the rows themselves when every key is distinct', () => {
  const rows = [reading('a', 'iaq', 1, 1), reading('a', 'iaq', 2, 2), reading('a', 'co2', 1, 3)]
  assert.equal(
    lastPerSeriesKey(rows, (r) => r.measure),
    rows,
  )
})

test('lastPerSeriesKey does not confuse names that a joined key string would', () => {
  // "a\u0000b" + "c" and "a" + "b\u0000c" are one string joined, two keys here.
  const rows = [reading('a\u0000b', 'c', 1, 1), reading('a', 'b\u0000c', 1, 2)]
  assert.equal(lastPerSeriesKey(rows, (r) => r.measure).length, 2)
})
