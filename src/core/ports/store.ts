/**
 * The store port: the time-series tables and the system's own records (registry, runs, selection, keys).
 * Implementations: DuckdbStore (`src/adapters/duckdb`), PostgresStore (`src/adapters/postgres`); both pass
 * `test/store.contract.ts`. Times are UTC epoch ms. Absent rows are `undefined`, never exceptions.
 * Driver failures are wrapped once as `STORE_UNAVAILABLE` saying what failed.
 */
import type { TimeMs } from '../time.js'
import type {
  ApiKeyRecord,
  Device,
  Prediction,
  Reading,
  Rejection,
  StoredRejection,
  WriteReport,
} from '../types.js'

/** A page request over a device's long rows, newest time first (keyset paging on time). */
export interface SeriesPageQuery {
  deviceId: string
  /** Inclusive lower bound. */
  from: TimeMs
  /** Inclusive upper bound. */
  to: TimeMs
  /** Only these measures (readings) or measure names (predictions); all when absent. */
  measures?: readonly string[] | undefined
  /** Only times strictly older than this (the page cursor). */
  before?: TimeMs | undefined
  /** At most this many distinct times; every row at those times is returned. */
  limitTimes: number
}

/**
 * A page of a device's readings pivoted by time, newest first: row `i` is the time `times[i]`, and
 * `values[i * measures.length + j]` its value of `measures[j]`, NaN where that measure has no reading then
 * (stored values are finite, so NaN only ever means absent). Every row has at least one value.
 */
export interface SeriesGrid {
  measures: string[]
  times: Float64Array
  values: Float64Array
}

export interface ReadingStore {
  /** Upserts rows on (deviceId, measure, time), last write wins; updates `devices` (first/last seen). */
  writeReadings(rows: readonly Reading[]): Promise<WriteReport>
  /** Rows of the newest `limitTimes` distinct times of the query, ordered time desc then measure asc. */
  readingsPage(query: SeriesPageQuery): Promise<Reading[]>
  /**
   * The same page pivoted (what `GET /sensorsdata` serves): the newest `limitTimes` times of the query,
   * columns the asked measures in the asked order (one column for a measure asked twice), else every measure
   * of the device, sorted (a column may have no value on this page).
   */
  readingsGrid(query: SeriesPageQuery): Promise<SeriesGrid>
  /** One measure of one device in [from, to], oldest first (for windows and training). */
  readingSeries(deviceId: string, measure: string, from: TimeMs, to: TimeMs): Promise<Reading[]>
  /** The newest reading of every (device, measure). */
  latestReadings(): Promise<Reading[]>
  /** Distinct measures seen for a device (all devices when absent), sorted. */
  listMeasures(deviceId?: string): Promise<string[]>
  countReadings(filter?: { deviceId?: string; source?: string }): Promise<number>
  /** Deletes readings older than `time`; returns how many. */
  deleteReadingsBefore(time: TimeMs): Promise<number>
}

export interface PredictionStore {
  /** Upserts on (deviceId, measureName, time), last write wins. */
  writePredictions(rows: readonly Prediction[]): Promise<WriteReport>
  predictionsPage(query: SeriesPageQuery): Promise<Prediction[]>
  countPredictions(filter?: { deviceId?: string }): Promise<number>
  deletePredictionsBefore(time: TimeMs): Promise<number>
}

export interface DeviceStore {
  /** Devices sorted by id. */
  listDevices(): Promise<Device[]>
  getDevice(id: string): Promise<Device | undefined>
  /** Sets name/location of a known or new device (first/last seen kept). */
  describeDevice(device: Pick<Device, 'id' | 'source'> & { name?: string; location?: string }): Promise<void>
}

export interface RejectionStore {
  writeRejections(rows: readonly Rejection[]): Promise<void>
  /** Newest first. */
  listRejections(query?: { source?: string; limit?: number }): Promise<StoredRejection[]>
  countRejections(filter?: { source?: string }): Promise<number>
}

export interface KeyStore {
  createKey(key: ApiKeyRecord): Promise<void>
  getKey(id: string): Promise<ApiKeyRecord | undefined>
  listKeys(): Promise<ApiKeyRecord[]>
  /** Marks the key revoked; false when there is no such key. */
  revokeKey(id: string, at: TimeMs): Promise<boolean>
  touchKey(id: string, at: TimeMs): Promise<void>
}

/** A model version as registered (DESIGN.md section 6). */
export interface ModelVersionRecord {
  model: string
  version: number
  algorithm: string
  /** The model's signature (see core/model.ts), stored as JSON. */
  signature: Record<string, unknown>
  /** Metrics, e.g. `{ mae: 3.1, rmse: 4.2, mae_h1: … }`. */
  metrics: Record<string, number>
  params: Record<string, unknown>
  /** Gold snapshot id the version learnt from (undefined for imported models). */
  snapshotId?: string | undefined
  /** Lake key of the artifact folder. */
  artifactKey: string
  runId?: string | undefined
  createdAt: TimeMs
  description?: string | undefined
}

export interface ModelRecord {
  name: string
  /** `forecast` or `classification`. */
  task: string
  createdAt: TimeMs
  latestVersion: number
  /** alias -> version */
  aliases: Record<string, number>
}

export interface RegistryStore {
  /** Registers a new version; the version number is the model's previous latest + 1 (1 for a new model). */
  createModelVersion(
    input: Omit<ModelVersionRecord, 'version'> & { task: string },
  ): Promise<ModelVersionRecord>
  getModel(name: string): Promise<ModelRecord | undefined>
  listModels(): Promise<ModelRecord[]>
  getModelVersion(model: string, version: number): Promise<ModelVersionRecord | undefined>
  /** Newest version first. */
  listModelVersions(model?: string): Promise<ModelVersionRecord[]>
  /** Points `alias` at `version`, moving it if set; throws MODEL_NOT_FOUND for an unknown version. */
  setAlias(model: string, alias: string, version: number): Promise<void>
  deleteAlias(model: string, alias: string): Promise<boolean>
  /** Every (model, alias, version), for serving. */
  listAliases(): Promise<Array<{ model: string; alias: string; version: number }>>
}

export type RunStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled'

export interface RunStep {
  name: string
  status: RunStatus | 'skipped'
  startedAt?: TimeMs | undefined
  endedAt?: TimeMs | undefined
  error?: string | undefined
  /** Stage outputs worth showing: counts, ids, metrics. */
  outputs?: Record<string, unknown> | undefined
}

export interface RunRecord {
  id: string
  /** `train`, `retrain`, `build-silver`, `quality`, `import`, … */
  kind: string
  status: RunStatus
  params: Record<string, unknown>
  steps: RunStep[]
  metrics: Record<string, number>
  /** Lake keys of artifacts (report, snapshot, models). */
  artifacts: Record<string, string>
  createdAt: TimeMs
  startedAt?: TimeMs | undefined
  endedAt?: TimeMs | undefined
  error?: string | undefined
}

export interface RunLogLine {
  runId: string
  seq: number
  time: TimeMs
  level: 'debug' | 'info' | 'warn' | 'error'
  message: string
}

export interface RunStore {
  /** Inserts or replaces the whole run record (runs are small; the runner owns the shape). */
  saveRun(run: RunRecord): Promise<void>
  getRun(id: string): Promise<RunRecord | undefined>
  /** Newest first. */
  listRuns(query?: { kind?: string; status?: RunStatus; limit?: number }): Promise<RunRecord[]>
  appendRunLog(line: Omit<RunLogLine, 'seq'>): Promise<void>
  /** Oldest first; `afterSeq` for tailing. */
  listRunLogs(runId: string, afterSeq?: number): Promise<RunLogLine[]>
}

/** A candidate's forecast kept until the actual arrives (DESIGN.md section 6, model selection). */
export interface ShadowForecast {
  /** Selection key: `<deviceId>/<measure>` or a configured name. */
  selector: string
  deviceId: string
  measure: string
  /** The predicted time. */
  time: TimeMs
  /** Steps ahead (1..H). */
  horizon: number
  /** `<model>@<version>` */
  arm: string
  value: number
  issuedAt: TimeMs
}

export interface ArmState {
  selector: string
  arm: string
  pulls: number
  rewardSum: number
  updatedAt: TimeMs
}

export interface SelectionEvent {
  selector: string
  time: TimeMs
  /** `choice`, `reward`, `pin`, `unpin` */
  kind: string
  arm: string
  /** Reward for `reward` events. */
  value?: number | undefined
  details?: Record<string, unknown> | undefined
}

export interface SelectionStore {
  writeShadowForecasts(rows: readonly ShadowForecast[]): Promise<void>
  /** Removes and returns the shadow forecasts of (deviceId, measure) at `time`. */
  takeShadowForecasts(deviceId: string, measure: string, time: TimeMs): Promise<ShadowForecast[]>
  deleteShadowForecastsBefore(time: TimeMs): Promise<number>
  listArms(selector?: string): Promise<ArmState[]>
  /** Adds `pulls` and `reward` to an arm, creating it at zero first. */
  addReward(selector: string, arm: string, reward: number, at: TimeMs, pulls?: number): Promise<void>
  appendSelectionEvents(events: readonly SelectionEvent[]): Promise<void>
  /** Newest first. */
  listSelectionEvents(query?: { selector?: string; kind?: string; limit?: number }): Promise<SelectionEvent[]>
  /** The pinned arm of a selector, or undefined. */
  getPin(selector: string): Promise<string | undefined>
  setPin(selector: string, arm: string | undefined): Promise<void>
}

/** Small key/value state that must survive restarts (poller cursors, demo progress). */
export interface StateStore {
  getState(key: string): Promise<string | undefined>
  setState(key: string, value: string): Promise<void>
}

/** The whole store. `migrate` is idempotent and runs on start; `close` releases connections and locks. */
export interface Store
  extends ReadingStore,
    PredictionStore,
    DeviceStore,
    RejectionStore,
    KeyStore,
    RegistryStore,
    RunStore,
    SelectionStore,
    StateStore {
  /** `duckdb` or `postgres`. */
  readonly kind: string
  migrate(): Promise<void>
  /** Cheap liveness query, for /readyz. */
  ping(): Promise<void>
  /** Runs read-only SQL for operators and the Grafana view; rows as objects. */
  query(sql: string, params?: readonly unknown[]): Promise<Record<string, unknown>[]>
  close(): Promise<void>
}
