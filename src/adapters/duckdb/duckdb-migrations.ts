/**
 * The DuckDB schema as numbered migrations. A migration is never edited once released: a change is a new
 * entry at the end. Times are `TIMESTAMP` (UTC, no zone); JSON documents are `VARCHAR` holding JSON text.
 */
import { FORECASTS_MIGRATION } from './duckdb-forecasts.js'

/** One schema step, applied once inside a transaction and recorded in `schema_migrations`. */
export interface DuckdbMigration {
  version: number
  name: string
  statements: readonly string[]
}

/** Forecast horizons (minutes) that `forecast_vs_actual` puts beside the actual value. */
export const VIEW_HORIZONS = [5, 10, 15] as const

/**
 * The side-by-side view named `name`, its key columns first in the order `keyColumns` gives.
 * It unions actuals and forecasts and groups them, rather than joining, so a filter on time or device
 * reaches both tables' scans, and future minutes (forecast but not yet measured) still appear.
 */
function sideBySideView(name: string, keyColumns: string): string {
  return `CREATE OR REPLACE VIEW ${name} AS
SELECT ${keyColumns},
  max(actual) AS actual,
  ${VIEW_HORIZONS.map((h) => `max(forecast_${h}) AS forecast_${h}`).join(',\n  ')}
FROM (
  SELECT time, device_id, measure, value AS actual,
    ${VIEW_HORIZONS.map((h) => `CAST(NULL AS DOUBLE) AS forecast_${h}`).join(', ')}
  FROM readings
  UNION ALL
  SELECT time, device_id, split_part(measure_name, '~', 1) AS measure, CAST(NULL AS DOUBLE) AS actual,
    ${VIEW_HORIZONS.map((h) => `CASE WHEN split_part(measure_name, '~', 2) = '${h}' THEN value END AS forecast_${h}`).join(',\n    ')}
  FROM predictions
  WHERE split_part(measure_name, '~', 2) IN (${VIEW_HORIZONS.map((h) => `'${h}'`).join(', ')})
) AS side_by_side
GROUP BY time, device_id, measure`
}

const actualsVsForecasts = sideBySideView('actuals_vs_forecasts', 'time, device_id, measure')
// Grafana's name for it (issue 5), its columns in the order a panel reads them.
const forecastVsActual = sideBySideView('forecast_vs_actual', 'device_id, measure, time')

export const duckdbMigrations: readonly DuckdbMigration[] = [
  {
    version: 1,
    name: 'time series, devices, rejected, api keys',
    statements: [
      `CREATE TABLE readings (
        time TIMESTAMP NOT NULL,
        device_id VARCHAR NOT NULL,
        measure VARCHAR NOT NULL,
        value DOUBLE NOT NULL,
        source VARCHAR NOT NULL,
        PRIMARY KEY (device_id, measure, time)
      )`,
      `CREATE TABLE predictions (
        time TIMESTAMP NOT NULL,
        device_id VARCHAR NOT NULL,
        measure_name VARCHAR NOT NULL,
        value DOUBLE NOT NULL,
        model_version VARCHAR NOT NULL,
        issued_at TIMESTAMP NOT NULL,
        PRIMARY KEY (device_id, measure_name, time)
      )`,
      `CREATE TABLE devices (
        id VARCHAR PRIMARY KEY,
        name VARCHAR,
        source VARCHAR NOT NULL,
        location VARCHAR,
        first_seen TIMESTAMP,
        last_seen TIMESTAMP
      )`,
      'CREATE SEQUENCE rejected_id_seq START 1',
      `CREATE TABLE rejected (
        id BIGINT PRIMARY KEY DEFAULT nextval('rejected_id_seq'),
        received_at TIMESTAMP NOT NULL,
        source VARCHAR NOT NULL,
        reason VARCHAR NOT NULL,
        code VARCHAR NOT NULL,
        payload VARCHAR NOT NULL
      )`,
      `CREATE TABLE api_keys (
        id VARCHAR PRIMARY KEY,
        name VARCHAR NOT NULL,
        hash VARCHAR NOT NULL,
        created_at TIMESTAMP NOT NULL,
        revoked_at TIMESTAMP,
        last_used_at TIMESTAMP
      )`,
    ],
  },
  {
    version: 2,
    name: 'model registry and runs',
    statements: [
      `CREATE TABLE models (
        name VARCHAR PRIMARY KEY,
        task VARCHAR NOT NULL,
        created_at TIMESTAMP NOT NULL
      )`,
      `CREATE TABLE model_versions (
        model VARCHAR NOT NULL,
        version INTEGER NOT NULL,
        algorithm VARCHAR NOT NULL,
        signature VARCHAR NOT NULL,
        metrics VARCHAR NOT NULL,
        params VARCHAR NOT NULL,
        snapshot_id VARCHAR,
        artifact_key VARCHAR NOT NULL,
        run_id VARCHAR,
        created_at TIMESTAMP NOT NULL,
        description VARCHAR,
        PRIMARY KEY (model, version)
      )`,
      `CREATE TABLE model_aliases (
        model VARCHAR NOT NULL,
        alias VARCHAR NOT NULL,
        version INTEGER NOT NULL,
        PRIMARY KEY (model, alias)
      )`,
      `CREATE TABLE runs (
        id VARCHAR PRIMARY KEY,
        kind VARCHAR NOT NULL,
        status VARCHAR NOT NULL,
        params VARCHAR NOT NULL,
        steps VARCHAR NOT NULL,
        metrics VARCHAR NOT NULL,
        artifacts VARCHAR NOT NULL,
        created_at TIMESTAMP NOT NULL,
        started_at TIMESTAMP,
        ended_at TIMESTAMP,
        error VARCHAR
      )`,
      `CREATE TABLE run_logs (
        run_id VARCHAR NOT NULL,
        seq INTEGER NOT NULL,
        time TIMESTAMP NOT NULL,
        level VARCHAR NOT NULL,
        message VARCHAR NOT NULL,
        PRIMARY KEY (run_id, seq)
      )`,
    ],
  },
  {
    version: 3,
    name: 'model selection and state',
    statements: [
      `CREATE TABLE shadow_forecasts (
        selector VARCHAR NOT NULL,
        device_id VARCHAR NOT NULL,
        measure VARCHAR NOT NULL,
        time TIMESTAMP NOT NULL,
        horizon INTEGER NOT NULL,
        arm VARCHAR NOT NULL,
        value DOUBLE NOT NULL,
        issued_at TIMESTAMP NOT NULL,
        PRIMARY KEY (device_id, measure, time, selector, horizon, arm)
      )`,
      `CREATE TABLE bandit_arms (
        selector VARCHAR NOT NULL,
        arm VARCHAR NOT NULL,
        pulls BIGINT NOT NULL,
        reward_sum DOUBLE NOT NULL,
        updated_at TIMESTAMP NOT NULL,
        PRIMARY KEY (selector, arm)
      )`,
      'CREATE SEQUENCE selection_events_id_seq START 1',
      `CREATE TABLE selection_events (
        id BIGINT PRIMARY KEY DEFAULT nextval('selection_events_id_seq'),
        selector VARCHAR NOT NULL,
        time TIMESTAMP NOT NULL,
        kind VARCHAR NOT NULL,
        arm VARCHAR NOT NULL,
        value DOUBLE,
        details VARCHAR
      )`,
      `CREATE TABLE selection_pins (
        selector VARCHAR PRIMARY KEY,
        arm VARCHAR NOT NULL
      )`,
      `CREATE TABLE state (
        key VARCHAR PRIMARY KEY,
        value VARCHAR NOT NULL
      )`,
    ],
  },
  {
    version: 4,
    name: 'actuals_vs_forecasts view',
    statements: [actualsVsForecasts],
  },
  {
    version: 5,
    name: 'latest reading per device and measure',
    statements: [
      `CREATE TABLE latest_readings (
        device_id VARCHAR NOT NULL,
        measure VARCHAR NOT NULL,
        time TIMESTAMP NOT NULL,
        value DOUBLE NOT NULL,
        source VARCHAR NOT NULL,
        PRIMARY KEY (device_id, measure)
      )`,
      `INSERT INTO latest_readings
       SELECT device_id, measure, max(time), arg_max(value, time), arg_max(source, time)
       FROM readings GROUP BY device_id, measure`,
    ],
  },
  {
    version: 6,
    name: 'forecast_vs_actual view (replaces actuals_vs_forecasts)',
    statements: ['DROP VIEW IF EXISTS actuals_vs_forecasts', forecastVsActual],
  },
  {
    version: 7,
    name: 'compacted days of readings',
    statements: [
      `CREATE TABLE compacted_days (
        day DATE PRIMARY KEY,
        readings BIGINT NOT NULL,
        compacted_at TIMESTAMP NOT NULL
      )`,
    ],
  },
  {
    version: 8,
    name: 'one row per forecast; predictions becomes a view of them',
    // The side-by-side view is created again so that it reads the new `predictions`.
    statements: [...FORECASTS_MIGRATION, forecastVsActual],
  },
]
