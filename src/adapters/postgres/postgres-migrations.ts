/**
 * The PostgreSQL schema as numbered migrations. A migration is never edited once released: a change is a new
 * entry at the end. Times are `timestamptz`; JSON documents are `jsonb`.
 */

/** One schema step, applied once inside a transaction and recorded in `schema_migrations`. */
export interface PostgresMigration {
  version: number
  name: string
  statements: readonly string[]
}

/** Forecast horizons (minutes) that `forecast_vs_actual` puts beside the actual value. */
export const VIEW_HORIZONS = [5, 10, 15] as const

/**
 * The side-by-side view named `name`, its key columns first in the order `keyColumns` gives.
 * It unions actuals and forecasts and groups them, rather than joining, so the planner pushes a filter
 * on time or device into both tables' index scans, and future minutes (forecast, not yet measured)
 * still appear.
 */
function sideBySideView(name: string, keyColumns: string): string {
  return `CREATE OR REPLACE VIEW ${name} AS
SELECT ${keyColumns},
  max(actual) AS actual,
  ${VIEW_HORIZONS.map((h) => `max(forecast_${h}) AS forecast_${h}`).join(',\n  ')}
FROM (
  SELECT time, device_id, measure, value AS actual,
    ${VIEW_HORIZONS.map((h) => `NULL::float8 AS forecast_${h}`).join(', ')}
  FROM readings
  UNION ALL
  SELECT time, device_id, split_part(measure_name, '~', 1) AS measure, NULL::float8 AS actual,
    ${VIEW_HORIZONS.map((h) => `CASE WHEN split_part(measure_name, '~', 2) = '${h}' THEN value END AS forecast_${h}`).join(',\n    ')}
  FROM predictions
  WHERE split_part(measure_name, '~', 2) IN (${VIEW_HORIZONS.map((h) => `'${h}'`).join(', ')})
) AS side_by_side
GROUP BY time, device_id, measure`
}

const actualsVsForecasts = sideBySideView('actuals_vs_forecasts', 'time, device_id, measure')
// Grafana's name for it (issue 5), its columns in the order a panel reads them.
const forecastVsActual = sideBySideView('forecast_vs_actual', 'device_id, measure, time')

export const postgresMigrations: readonly PostgresMigration[] = [
  {
    version: 1,
    name: 'time series, devices, rejected, api keys',
    statements: [
      // Key order (device, time, measure) serves both the device-day page over all measures and the uniqueness
      // of (device, measure, time) with one index, which keeps bulk upserts cheap.
      `CREATE TABLE readings (
        time timestamptz NOT NULL,
        device_id text NOT NULL,
        measure text NOT NULL,
        value float8 NOT NULL,
        source text NOT NULL,
        CONSTRAINT readings_pkey PRIMARY KEY (device_id, time, measure)
      )`,
      `CREATE TABLE predictions (
        time timestamptz NOT NULL,
        device_id text NOT NULL,
        measure_name text NOT NULL,
        value float8 NOT NULL,
        model_version text NOT NULL,
        issued_at timestamptz NOT NULL,
        CONSTRAINT predictions_pkey PRIMARY KEY (device_id, time, measure_name)
      )`,
      'CREATE INDEX predictions_time ON predictions (time)',
      `CREATE TABLE latest_readings (
        device_id text NOT NULL,
        measure text NOT NULL,
        time timestamptz NOT NULL,
        value float8 NOT NULL,
        source text NOT NULL,
        PRIMARY KEY (device_id, measure)
      )`,
      `CREATE TABLE devices (
        id text PRIMARY KEY,
        name text,
        source text NOT NULL,
        location text,
        first_seen timestamptz,
        last_seen timestamptz
      )`,
      `CREATE TABLE rejected (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        received_at timestamptz NOT NULL,
        source text NOT NULL,
        reason text NOT NULL,
        code text NOT NULL,
        payload text NOT NULL
      )`,
      'CREATE INDEX rejected_received ON rejected (received_at DESC, id DESC)',
      `CREATE TABLE api_keys (
        id text PRIMARY KEY,
        name text NOT NULL,
        hash text NOT NULL,
        created_at timestamptz NOT NULL,
        revoked_at timestamptz,
        last_used_at timestamptz
      )`,
    ],
  },
  {
    version: 2,
    name: 'model registry and runs',
    statements: [
      `CREATE TABLE models (
        name text PRIMARY KEY,
        task text NOT NULL,
        created_at timestamptz NOT NULL
      )`,
      `CREATE TABLE model_versions (
        model text NOT NULL REFERENCES models (name),
        version integer NOT NULL,
        algorithm text NOT NULL,
        signature jsonb NOT NULL,
        metrics jsonb NOT NULL,
        params jsonb NOT NULL,
        snapshot_id text,
        artifact_key text NOT NULL,
        run_id text,
        created_at timestamptz NOT NULL,
        description text,
        PRIMARY KEY (model, version)
      )`,
      `CREATE TABLE model_aliases (
        model text NOT NULL,
        alias text NOT NULL,
        version integer NOT NULL,
        PRIMARY KEY (model, alias),
        FOREIGN KEY (model, version) REFERENCES model_versions (model, version)
      )`,
      `CREATE TABLE runs (
        id text PRIMARY KEY,
        kind text NOT NULL,
        status text NOT NULL,
        params jsonb NOT NULL,
        steps jsonb NOT NULL,
        metrics jsonb NOT NULL,
        artifacts jsonb NOT NULL,
        created_at timestamptz NOT NULL,
        started_at timestamptz,
        ended_at timestamptz,
        error text
      )`,
      'CREATE INDEX runs_created ON runs (created_at DESC, id DESC)',
      `CREATE TABLE run_logs (
        run_id text NOT NULL,
        seq integer NOT NULL,
        time timestamptz NOT NULL,
        level text NOT NULL,
        message text NOT NULL,
        PRIMARY KEY (run_id, seq)
      )`,
    ],
  },
  {
    version: 3,
    name: 'model selection and state',
    statements: [
      `CREATE TABLE shadow_forecasts (
        selector text NOT NULL,
        device_id text NOT NULL,
        measure text NOT NULL,
        time timestamptz NOT NULL,
        horizon integer NOT NULL,
        arm text NOT NULL,
        value float8 NOT NULL,
        issued_at timestamptz NOT NULL,
        PRIMARY KEY (device_id, measure, time, selector, horizon, arm)
      )`,
      'CREATE INDEX shadow_forecasts_time ON shadow_forecasts (time)',
      `CREATE TABLE bandit_arms (
        selector text NOT NULL,
        arm text NOT NULL,
        pulls bigint NOT NULL,
        reward_sum float8 NOT NULL,
        updated_at timestamptz NOT NULL,
        PRIMARY KEY (selector, arm)
      )`,
      `CREATE TABLE selection_events (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        selector text NOT NULL,
        time timestamptz NOT NULL,
        kind text NOT NULL,
        arm text NOT NULL,
        value float8,
        details jsonb
      )`,
      'CREATE INDEX selection_events_selector_time ON selection_events (selector, time DESC, id DESC)',
      `CREATE TABLE selection_pins (
        selector text PRIMARY KEY,
        arm text NOT NULL
      )`,
      `CREATE TABLE state (
        key text PRIMARY KEY,
        value text NOT NULL
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
    name: 'forecast_vs_actual view (replaces actuals_vs_forecasts)',
    statements: ['DROP VIEW IF EXISTS actuals_vs_forecasts', forecastVsActual],
  },
  {
    version: 6,
    name: 'readings key carries the value (index-only page reads)',
    statements: [
      // A device's page is read along this key. Rows arrive time-major from the whole fleet, so one
      // device-day's 8,640 rows lie on some 1,440 heap pages; with the value in the key's leaves the page is
      // read from about 70 index pages instead (an index-only scan, on pages vacuum has marked all-visible).
      // The index is rebuilt, holding the table meanwhile: about 11 s for 10 million readings here.
      `ALTER TABLE readings DROP CONSTRAINT readings_pkey,
        ADD CONSTRAINT readings_pkey PRIMARY KEY (device_id, time, measure) INCLUDE (value)`,
      // Autovacuum marks pages all-visible; by default an insert-only table waits for 20% new rows, which
      // leaves the most-read recent days to the heap. Here after 1% (and at least 10,000 rows).
      `ALTER TABLE readings SET (autovacuum_vacuum_insert_scale_factor = 0.01,
        autovacuum_vacuum_insert_threshold = 10000)`,
    ],
  },
]
