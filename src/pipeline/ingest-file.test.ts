import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { isAirlakeError } from '../core/errors.js'
import { measureName, parseTimeExpression, planTable, readTableRow } from './ingest-file.js'

const file = 'test.csv'

describe('planTable', () => {
  it('maps a wide file by its column names, every other column a measure', () => {
    const plan = planTable(['Timestamp', 'device_id', 'CO2 (ppm)', 'temperature'], { mapping: {}, file })
    assert.equal(plan.shape, 'wide')
    const rows = readTableRow(plan, ['2024-01-01T10:00:30Z', 'room-1', '412', ''], 'file')
    assert.deepEqual(rows, [
      {
        time: Date.parse('2024-01-01T10:00:30Z'),
        deviceId: 'room-1',
        measure: 'co2__ppm_',
        value: 412,
        source: 'file',
      },
    ])
  })

  it('maps a long file and takes --device when it has no device column', () => {
    const plan = planTable(['time', 'measure', 'value'], { mapping: {}, device: 'dev-9', file })
    assert.equal(plan.shape, 'long')
    assert.deepEqual(readTableRow(plan, ['1704067200', 'pm25', '7.5'], 'file'), [
      { time: Date.UTC(2024, 0, 1), deviceId: 'dev-9', measure: 'pm25', value: 7.5, source: 'file' },
    ])
  })

  it('builds the time from a date plus an hour offset, and the device from several columns', () => {
    const plan = planTable(['hour_index', 'date_assumed', 'hour_of_day', 'site', 'mote', 'nox_ppb'], {
      mapping: { time: 'date_assumed+hour_of_day:h', deviceColumns: ['site', 'mote'], measures: ['nox_ppb'] },
      file,
    })
    assert.deepEqual(readTableRow(plan, ['29', '2004-01-02', '5', 'ch', '2', '101.5'], 'file'), [
      { time: Date.UTC(2004, 0, 2, 5), deviceId: 'ch-2', measure: 'nox_ppb', value: 101.5, source: 'file' },
    ])
  })

  it('counts an offset in seconds from --start', () => {
    const plan = planTable(['elapsed_s', 'humidity'], {
      mapping: { time: 'elapsed_s:s', start: '2010-05-09T00:00:00Z' },
      device: 'm1',
      file,
    })
    assert.equal(readTableRow(plan, ['15', '45.9'], 'file')[0]?.time, Date.UTC(2010, 4, 9, 0, 0, 15))
  })

  it('reads Excel day numbers, unix milliseconds and date cells', () => {
    const excel = planTable(['time', 'co2'], { mapping: { timeFormat: 'excel' }, device: 'd', file })
    assert.equal(readTableRow(excel, [45292.5, 400], 'file')[0]?.time, Date.UTC(2024, 0, 1, 12))
    const ms = planTable(['time', 'co2'], { mapping: { timeFormat: 'unix-ms' }, device: 'd', file })
    assert.equal(readTableRow(ms, ['1704067200123', 400], 'file')[0]?.time, 1704067200123)
    const auto = planTable(['time', 'co2'], { mapping: {}, device: 'd', file })
    assert.equal(
      readTableRow(auto, [new Date(Date.UTC(2024, 0, 1)), 400], 'file')[0]?.time,
      Date.UTC(2024, 0, 1),
    )
  })

  it('says what is missing and which option fixes it', () => {
    const noTime = () => planTable(['hour_index', 'nox'], { mapping: {}, device: 'd', file })
    assert.throws(
      noTime,
      (e) =>
        isAirlakeError(e, 'FILE_INVALID') && /--time COL/.test(e.message) && /"hour_index"/.test(e.message),
    )
    const noDevice = () => planTable(['date', 'nox'], { mapping: {}, file })
    assert.throws(noDevice, (e) => isAirlakeError(e, 'FILE_INVALID') && /--device ID/.test(e.message))
    const unknown = () => planTable(['date', 'nox'], { mapping: { measures: ['no2'] }, device: 'd', file })
    assert.throws(unknown, (e) => isAirlakeError(e, 'FILE_INVALID') && /no column "no2"/.test(e.message))
    const twins = () => planTable(['date', 'NO x', 'no_x'], { mapping: {}, device: 'd', file })
    assert.throws(
      twins,
      (e) => isAirlakeError(e, 'FILE_INVALID') && /both become the measure "no_x"/.test(e.message),
    )
    const noStart = () =>
      planTable(['elapsed_s', 'x'], { mapping: { time: 'elapsed_s:s' }, device: 'd', file })
    assert.throws(noStart, (e) => isAirlakeError(e, 'FILE_INVALID') && /--start/.test(e.message))
  })
})

describe('readTableRow', () => {
  const plan = planTable(['date', 'ozone', 'wind'], { mapping: {}, device: 'ny', file })

  it('skips missing cells and rejects a row with none', () => {
    assert.equal(readTableRow(plan, ['1973-05-01', 'NA', '7.4'], 'file').length, 1)
    assert.throws(
      () => readTableRow(plan, ['1973-05-01', '', ''], 'file'),
      (e) => isAirlakeError(e, 'READING_INVALID') && /no values/.test(e.message),
    )
  })

  it('rejects the whole row for a cell that is not a number or a time that cannot be read', () => {
    assert.throws(
      () => readTableRow(plan, ['1973-05-01', 'high', '7'], 'file'),
      (e) => isAirlakeError(e, 'READING_INVALID') && /ozone is not a number: "high"/.test(e.message),
    )
    assert.throws(
      () => readTableRow(plan, ['yesterday', '1', '7'], 'file'),
      (e) => isAirlakeError(e, 'TIME_INVALID'),
    )
  })
})

describe('names', () => {
  it('normalises column names into measure names', () => {
    assert.equal(measureName('PM2.5 µg/m³'), 'pm2.5__g_m_')
    assert.equal(measureName('2nd sensor'), 'm_2nd_sensor')
  })

  it('parses time expressions', () => {
    assert.deepEqual(parseTimeExpression('ts'), { column: 'ts' })
    assert.deepEqual(parseTimeExpression('elapsed_s:s'), { column: 'elapsed_s', unitMs: 1000 })
    assert.deepEqual(parseTimeExpression('date + hour:h'), {
      base: 'date',
      column: 'hour',
      unitMs: 3_600_000,
    })
    assert.throws(
      () => parseTimeExpression('date+hour'),
      (e) => isAirlakeError(e, 'FILE_INVALID'),
    )
    assert.throws(
      () => parseTimeExpression('x:weeks'),
      (e) => isAirlakeError(e, 'FILE_INVALID'),
    )
  })
})
