import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { loadConfig } from './config.js'
import { AirlakeError } from './core/errors.js'

describe('loadConfig', () => {
  it('defaults to the embedded profile under ./.airlake', () => {
    const config = loadConfig({ AIRLAKE_HOME: '/tmp/home' })
    assert.equal(config.port, 8080)
    assert.equal(config.databaseUrl, 'duckdb:/tmp/home/airlake.duckdb')
    assert.equal(config.lakeUrl, 'file:/tmp/home/lake')
    assert.equal(config.busUrl, 'memory:')
    assert.equal(config.mqttTopic, 'airlake/+/readings')
  })
  it('reports every invalid setting at once, each with what to write instead', () => {
    try {
      loadConfig({
        PORT: 'eighty',
        DATABASE_URL: 'mysql://x',
        BUS_URL: 'kafka://y',
        AIRLAKE_API_KEY: 'short',
      })
      assert.fail('should throw')
    } catch (error) {
      assert.ok(error instanceof AirlakeError && error.code === 'CONFIG_INVALID')
      assert.match(error.message, /4 settings are invalid/)
      assert.match(error.message, /PORT="eighty": write a whole number/)
      assert.match(error.message, /DATABASE_URL=mysql:\/\/x: the scheme must be one of duckdb:, postgres:/)
      assert.match(error.message, /BUS_URL/)
      assert.match(error.message, /AIRLAKE_API_KEY is shorter than 16/)
    }
  })
  it('never repeats a password in its messages', () => {
    assert.throws(
      () => loadConfig({ DATABASE_URL: 'mysql://u:secret@h/db' }),
      (e: Error) => !e.message.includes('secret'),
    )
  })
  it('reads sources, series and selectors from AIRLAKE_CONFIG, with the step of each series in ms', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'airlake-config-')), 'airlake.json')
    writeFileSync(
      file,
      JSON.stringify({
        series: [{ deviceId: 'motorway-ch', measure: 'nox_ppb', window: 168, horizon: 24, step: '1h' }],
        selectors: [
          {
            name: 'nox',
            measure: 'nox_ppb',
            arms: ['motorway-ch.nox_ppb.ridge@champion', 'motorway-ch.nox_ppb.xgboost@2'],
          },
        ],
      }),
    )
    const config = loadConfig({ AIRLAKE_HOME: '/tmp/home', AIRLAKE_CONFIG: file })
    assert.equal(config.series[0]?.stepMs, 3_600_000)
    assert.deepEqual(config.selectors[0]?.arms, [
      'motorway-ch.nox_ppb.ridge@champion',
      'motorway-ch.nox_ppb.xgboost@2',
    ])
  })
  it('names each bad entry of the config file', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'airlake-config-')), 'airlake.json')
    writeFileSync(
      file,
      JSON.stringify({
        series: [{ deviceId: 'a', measure: 'iaq', step: 'hourly' }],
        selectors: [{ name: 'x' }],
      }),
    )
    assert.throws(
      () => loadConfig({ AIRLAKE_CONFIG: file }),
      (e: Error) =>
        /series\[0\]: "step" "hourly"/.test(e.message) &&
        /selectors\[0\]: give "name", "measure" and "arms"/.test(e.message),
    )
  })
})
