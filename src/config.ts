/**
 * Settings: read from the environment (and an optional JSON config file) once at start-up and validated
 * together, so a user sees every bad setting in one message with what to write instead.
 */
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { AirlakeError } from './core/errors.js'
import type { SelectorConfig } from './pipeline/forecast.js'
import { parseStep } from './pipeline/time-series.js'

export interface VendorSourceConfig {
  kind: 'vendor'
  name: string
  url: string
  token: string
  /** cron; every minute by default */
  schedule?: string
}

export interface OpenaqSourceConfig {
  kind: 'openaq'
  name: string
  locationId: number
  baseUrl?: string
  apiKey?: string
  schedule?: string
}

export type SourceConfig = VendorSourceConfig | OpenaqSourceConfig

/** A series retrained on the schedule (`AIRLAKE_RETRAIN_CRON`); `step` as `1m`, `1h`, … becomes `stepMs`. */
export interface SeriesConfig {
  deviceId: string
  measure: string
  window?: number | undefined
  horizon?: number | undefined
  step?: string | undefined
  stepMs?: number | undefined
  models?: string[] | undefined
}

export interface Config {
  port: number
  host: string
  home: string
  /** `duckdb:<path>` or `postgres://…` */
  databaseUrl: string
  /** `file:<path>` or `s3://bucket/prefix` */
  lakeUrl: string
  /** `memory:` or `nats://…` */
  busUrl: string
  mqttUrl?: string | undefined
  mqttTopic: string
  apiKey?: string | undefined
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent'
  /** Request body limit in bytes. */
  bodyLimitBytes: number
  /** Retention of readings and predictions in the store, days (0 = keep forever). */
  retentionDays: number
  /** Cron of the weekly retraining (Monday 00:00 UTC by default). */
  retrainCron: string
  /** Days of data each retraining uses. */
  retrainDays: number
  sources: SourceConfig[]
  series: SeriesConfig[]
  /** Configured candidate sets for model selection (else every champion and challenger competes). */
  selectors: SelectorConfig[]
  configFile?: string | undefined
}

type Env = Record<string, string | undefined>

const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const

/** Reads and validates settings; throws CONFIG_INVALID listing every problem. */
export function loadConfig(env: Env = process.env, overrides: Partial<Config> = {}): Config {
  const problems: string[] = []
  const home = resolve(overrides.home ?? env.AIRLAKE_HOME ?? './.airlake')

  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name]
    if (raw === undefined || raw === '') return fallback
    const value = Number(raw)
    if (!Number.isInteger(value) || value < min || value > max) {
      problems.push(`${name}=${JSON.stringify(raw)}: write a whole number from ${min} to ${max}`)
      return fallback
    }
    return value
  }
  const url = (name: string, fallback: string, schemes: string[]): string => {
    const raw = env[name]
    if (raw === undefined || raw === '') return fallback
    const scheme = raw.split(':')[0] ?? ''
    if (!schemes.includes(scheme)) {
      problems.push(
        `${name}=${redact(raw)}: the scheme must be one of ${schemes.map((s) => `${s}:`).join(', ')}`,
      )
      return fallback
    }
    return raw
  }

  const port = overrides.port ?? int('PORT', 8080, 0, 65535)
  const databaseUrl = url('DATABASE_URL', `duckdb:${resolve(home, 'airlake.duckdb')}`, [
    'duckdb',
    'postgres',
    'postgresql',
  ])
  const lakeUrl = url('LAKE_URL', `file:${resolve(home, 'lake')}`, ['file', 's3'])
  const busUrl = url('BUS_URL', 'memory:', ['memory', 'nats'])
  const mqttUrl = env.MQTT_URL ? url('MQTT_URL', '', ['mqtt', 'mqtts', 'ws', 'wss']) : undefined
  const mqttTopic = env.MQTT_TOPIC || 'airlake/+/readings'
  if (!/^[^#]*(#)?$/.test(mqttTopic) || mqttTopic.split('/').filter((p) => p === '+').length > 1) {
    problems.push(
      `MQTT_TOPIC=${JSON.stringify(mqttTopic)}: use one "+" where the device id stands, e.g. airlake/+/readings`,
    )
  }
  const logLevel = (env.AIRLAKE_LOG_LEVEL ?? 'info') as Config['logLevel']
  if (!LOG_LEVELS.includes(logLevel)) {
    problems.push(`AIRLAKE_LOG_LEVEL=${JSON.stringify(logLevel)}: write one of ${LOG_LEVELS.join(', ')}`)
  }
  const apiKey = env.AIRLAKE_API_KEY || undefined
  if (apiKey !== undefined && apiKey.length < 16) {
    problems.push(
      'AIRLAKE_API_KEY is shorter than 16 characters: use a long random value (e.g. `openssl rand -hex 24`)',
    )
  }

  let file: Partial<Pick<Config, 'sources' | 'series' | 'selectors'>> & Record<string, unknown> = {}
  const configFile = overrides.configFile ?? env.AIRLAKE_CONFIG
  if (configFile) {
    try {
      file = JSON.parse(readFileSync(configFile, 'utf8'))
    } catch (error) {
      problems.push(`AIRLAKE_CONFIG=${configFile}: cannot read it as JSON (${(error as Error).message})`)
    }
  }
  const sources = Array.isArray(file.sources) ? (file.sources as SourceConfig[]) : []
  sources.forEach((source, i) => {
    if (source.kind === 'vendor' && (!source.url || !source.token)) {
      problems.push(`sources[${i}] (vendor): give "url" and "token"`)
    } else if (source.kind === 'openaq' && !Number.isInteger(source.locationId)) {
      problems.push(`sources[${i}] (openaq): give "locationId" as a whole number`)
    } else if (source.kind !== 'vendor' && source.kind !== 'openaq') {
      problems.push(`sources[${i}]: "kind" must be "vendor" or "openaq"`)
    }
  })

  const series = Array.isArray(file.series) ? (file.series as SeriesConfig[]) : []
  series.forEach((entry, i) => {
    if (typeof entry.deviceId !== 'string' || typeof entry.measure !== 'string') {
      problems.push(
        `series[${i}]: give "deviceId" and "measure", e.g. {"deviceId":"kitchen-1","measure":"iaq"}`,
      )
    }
    if (entry.step !== undefined) {
      try {
        entry.stepMs = parseStep(entry.step)
      } catch {
        problems.push(`series[${i}]: "step" ${JSON.stringify(entry.step)} must look like 1m, 15min, 1h or 1d`)
      }
    }
  })
  const selectors = Array.isArray(file.selectors) ? (file.selectors as SelectorConfig[]) : []
  selectors.forEach((selector, i) => {
    if (
      typeof selector.name !== 'string' ||
      typeof selector.measure !== 'string' ||
      !Array.isArray(selector.arms) ||
      selector.arms.length === 0
    ) {
      problems.push(
        `selectors[${i}]: give "name", "measure" and "arms" (e.g. ["kitchen-1.iaq.ridge@champion","kitchen-1.iaq.xgboost@3"])`,
      )
    }
  })

  const config: Config = {
    port,
    host: env.HOST || '0.0.0.0',
    home,
    databaseUrl,
    lakeUrl,
    busUrl,
    mqttUrl,
    mqttTopic,
    apiKey,
    logLevel,
    bodyLimitBytes: int('AIRLAKE_BODY_LIMIT', 1024 * 1024, 1024, 1024 * 1024 * 1024),
    retentionDays: int('AIRLAKE_RETENTION_DAYS', 30, 0, 36500),
    retrainCron: env.AIRLAKE_RETRAIN_CRON || '0 0 * * 1',
    retrainDays: int('AIRLAKE_RETRAIN_DAYS', 7, 1, 3650),
    sources,
    series,
    selectors,
    configFile,
    ...overrides,
  }
  if (problems.length > 0) {
    throw new AirlakeError(
      'CONFIG_INVALID',
      `${problems.length} setting${problems.length > 1 ? 's are' : ' is'} invalid:\n  - ${problems.join('\n  - ')}`,
      { details: { problems } },
    )
  }
  return config
}

/** A URL with its password replaced, for messages and logs. */
export function redact(url: string): string {
  return url.replace(/\/\/([^:/@]+):([^@]+)@/, '//$1:***@')
}
