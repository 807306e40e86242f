import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { AirlakeError } from './errors.js'
import { formatRecordTime, isoDate, parseIsoDate, parseTimestamp, truncateToMinute } from './time.js'

describe('parseTimestamp', () => {
  const t = Date.UTC(2023, 1, 7, 11, 29, 19)
  it('reads the vendor RFC 1123 form', () => {
    assert.equal(parseTimestamp('Tue, 07 Feb 2023 11:29:19 GMT'), t)
  })
  it('reads ISO 8601 with a zone, and without one as UTC', () => {
    assert.equal(parseTimestamp('2023-02-07T11:29:19Z'), t)
    assert.equal(parseTimestamp('2023-02-07T13:29:19+02:00'), t)
    assert.equal(parseTimestamp('2023-02-07 11:29:19'), t)
    assert.equal(parseTimestamp('2023-02-07'), Date.UTC(2023, 1, 7))
  })
  it('reads unix seconds as a number or a string', () => {
    assert.equal(parseTimestamp(t / 1000), t)
    assert.equal(parseTimestamp(String(t / 1000)), t)
  })
  it('refuses garbage and out-of-range times with the accepted forms in the message', () => {
    for (const bad of ['yesterday', '', null, {}, Number.NaN, 1e15, '2023-13-45T99:00:00Z']) {
      assert.throws(
        () => parseTimestamp(bad),
        (e: unknown) => e instanceof AirlakeError && e.code === 'TIME_INVALID' && /RFC 1123/.test(e.message),
        String(bad),
      )
    }
  })
})

describe('time helpers', () => {
  it('truncates to the minute and formats the seed record time', () => {
    const t = Date.UTC(2023, 1, 7, 11, 29, 19, 500)
    assert.equal(truncateToMinute(t), Date.UTC(2023, 1, 7, 11, 29))
    assert.equal(formatRecordTime(truncateToMinute(t)), '2023-02-07 11:29:00.000000000')
    assert.equal(isoDate(t), '2023-02-07')
  })
  it('parses days strictly', () => {
    assert.equal(parseIsoDate('2024-02-29'), Date.UTC(2024, 1, 29))
    assert.throws(() => parseIsoDate('2024/02/29'), /date like 2024-01-31/)
  })
})
