/**
 * What the pages read from the API, as plain typed objects. The JSON shapes follow the store records
 * (src/core/ports/store.ts); times may arrive as epoch ms or ISO text and are normalised to ms here, so
 * views never guess.
 */
import { type Api, parseRecordTime } from './api.js'

export interface LatestValue {
  time: number
  value: number
}

export interface DeviceSummary {
  id: string
  name?: string
  source: string
  firstSeen?: number
  lastSeen?: number
  latest: Map<string, LatestValue>
}

export interface ModelVersion {
  model: string
  version: number
  algorithm: string
  metrics: Record<string, number>
  signature: Record<string, unknown>
  createdAt?: number
  runId?: string
  snapshotId?: string
  description?: string
}

export interface ModelSummary {
  name: string
  task: string
  latestVersion: number
  aliases: Record<string, number>
  versions: ModelVersion[]
}

export interface Arm {
  selector: string
  arm: string
  pulls: number
  meanReward: number
  /** UCB1 index; undefined while the arm is untried. */
  ucb?: number
}

export interface SelectionEventRow {
  selector: string
  time: number
  kind: string
  arm: string
  value?: number
}

export interface Selection {
  arms: Arm[]
  /** selector -> arm currently served */
  current: Map<string, string>
  /** selector -> arm pinned by hand */
  pinned: Map<string, string>
  history: SelectionEventRow[]
}

export interface RunStep {
  name: string
  status: string
  startedAt?: number
  endedAt?: number
  error?: string
  outputs?: Record<string, unknown>
}

export interface Run {
  id: string
  kind: string
  status: string
  params: Record<string, unknown>
  steps: RunStep[]
  metrics: Record<string, number>
  createdAt?: number
  startedAt?: number
  endedAt?: number
  error?: string
}

export interface LogLine {
  seq: number
  time?: number
  level: string
  message: string
}

type Json = Record<string, unknown>

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v)
const str = (v: unknown): string | undefined =>
  typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined
const num = (v: unknown): number | undefined => {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v
  return typeof n === 'number' && Number.isFinite(n) ? n : undefined
}
const time = (v: unknown): number | undefined =>
  v === undefined || v === null ? undefined : parseRecordTime(v)

/** The list inside an answer that is either an array or `{ <key>: [...] }`. */
function listOf(body: unknown, ...keys: string[]): unknown[] {
  if (Array.isArray(body)) return body
  if (isObject(body)) {
    for (const key of [...keys, 'items', 'data', 'Records']) {
      const value = body[key]
      if (Array.isArray(value)) return value
    }
  }
  return []
}

function numbers(v: unknown): Record<string, number> {
  const out: Record<string, number> = {}
  if (isObject(v))
    for (const [k, x] of Object.entries(v)) if (typeof x === 'number' && Number.isFinite(x)) out[k] = x
  return out
}

/**
 * Every device: from `GET /devices` (with source and last seen) when the server offers it, else the ids
 * of the seed's `GET /sensorsdata/sensors` (the page then reads each device's newest readings itself).
 */
export async function loadDevices(api: Api, options: { deviceRoute: boolean }): Promise<DeviceSummary[]> {
  if (options.deviceRoute) {
    const body = await api.get<unknown>('/devices')
    return listOf(body, 'devices').flatMap((raw) => {
      const device = toDevice(raw)
      return device ? [device] : []
    })
  }
  const body = await api.get<{ Records?: unknown[][] }>('/sensorsdata/sensors')
  const ids = (body.Records ?? []).map((row) => str(row[0])).filter((id): id is string => Boolean(id))
  return ids.map((id) => ({ id, source: '', latest: new Map() }))
}

export function toDevice(raw: unknown): DeviceSummary | undefined {
  if (!isObject(raw)) return undefined
  const id = str(raw.id ?? raw.deviceId ?? raw.device_id)
  if (!id) return undefined
  const latest = new Map<string, LatestValue>()
  const rawLatest = raw.latest
  if (isObject(rawLatest)) {
    for (const [measure, v] of Object.entries(rawLatest)) {
      if (isObject(v)) {
        const t = time(v.time)
        const value = num(v.value)
        if (t !== undefined && value !== undefined) latest.set(measure, { time: t, value })
      }
    }
  } else if (Array.isArray(rawLatest)) {
    for (const v of rawLatest) {
      if (!isObject(v)) continue
      const measure = str(v.measure)
      const t = time(v.time)
      const value = num(v.value)
      if (measure && t !== undefined && value !== undefined) latest.set(measure, { time: t, value })
    }
  }
  const device: DeviceSummary = { id, source: str(raw.source) ?? '', latest }
  const name = str(raw.name)
  if (name) device.name = name
  const firstSeen = time(raw.firstSeen ?? raw.first_seen)
  if (firstSeen !== undefined) device.firstSeen = firstSeen
  const lastSeen = time(raw.lastSeen ?? raw.last_seen)
  if (lastSeen !== undefined) device.lastSeen = lastSeen
  return device
}

/** The registry: models with their versions (newest first) and aliases. */
export async function loadModels(api: Api): Promise<ModelSummary[]> {
  const body = await api.get<unknown>('/models')
  const models = listOf(body, 'models').filter(isObject)
  return models
    .map((m): ModelSummary => {
      const name = str(m.name) ?? '?'
      const versions = listOf(m.versions)
        .filter(isObject)
        .map((v) => toVersion(v, name))
      versions.sort((a, b) => b.version - a.version)
      const aliases: Record<string, number> = {}
      if (isObject(m.aliases)) {
        for (const [alias, version] of Object.entries(m.aliases)) {
          const n = num(version)
          if (n !== undefined) aliases[alias] = n
        }
      } else if (Array.isArray(m.aliases)) {
        for (const a of m.aliases.filter(isObject)) {
          const alias = str(a.alias)
          const n = num(a.version)
          if (alias && n !== undefined) aliases[alias] = n
        }
      }
      return {
        name,
        task: str(m.task) ?? 'forecast',
        latestVersion: num(m.latestVersion ?? m.latest_version) ?? versions[0]?.version ?? 0,
        aliases,
        versions,
      }
    })
    .sort((a, b) => a.name.localeCompare(b.name))
}

function toVersion(v: Json, model: string): ModelVersion {
  const out: ModelVersion = {
    model: str(v.model) ?? model,
    version: num(v.version) ?? 0,
    algorithm: str(v.algorithm) ?? '',
    metrics: numbers(v.metrics),
    signature: isObject(v.signature) ? v.signature : {},
  }
  const createdAt = time(v.createdAt ?? v.created_at)
  if (createdAt !== undefined) out.createdAt = createdAt
  const runId = str(v.runId ?? v.run_id)
  if (runId) out.runId = runId
  const snapshotId = str(v.snapshotId ?? v.snapshot_id)
  if (snapshotId) out.snapshotId = snapshotId
  const description = str(v.description)
  if (description) out.description = description
  return out
}

/** Per-horizon metrics from keys like `mae_h1` … `mae_h15`: metric -> [[h, value], …] ascending in h. */
export function metricsByHorizon(metrics: Record<string, number>): Map<string, Array<[number, number]>> {
  const out = new Map<string, Array<[number, number]>>()
  for (const [key, value] of Object.entries(metrics)) {
    const m = /^(.+?)_h(\d+)$/.exec(key)
    if (!m) continue
    const list = out.get(m[1]!) ?? []
    list.push([Number(m[2]), value])
    out.set(m[1]!, list)
  }
  for (const list of out.values()) list.sort((a, b) => a[0] - b[0])
  return out
}

/** The bandit: arms with pulls and mean reward, the current choice per selector, and its history. */
export async function loadSelection(api: Api): Promise<Selection> {
  const body = await api.get<unknown>('/selection')
  const root = isObject(body) ? body : {}
  const current = new Map<string, string>()
  const pinned = new Map<string, string>()
  const arms: Arm[] = []
  const history: SelectionEventRow[] = []
  const addArm = (a: Json, selectorHint?: string) => {
    const selector = str(a.selector) ?? selectorHint ?? ''
    const arm = str(a.arm ?? a.name)
    if (!arm) return
    const pulls = num(a.pulls) ?? 0
    const mean =
      num(a.meanReward ?? a.mean_reward ?? a.mean) ?? (pulls > 0 ? (num(a.rewardSum) ?? 0) / pulls : 0)
    const entry: Arm = { selector, arm, pulls, meanReward: mean }
    const ucb = num(a.ucb)
    if (ucb !== undefined) entry.ucb = ucb
    arms.push(entry)
    if (a.current === true || a.chosen === true) current.set(selector, arm)
  }
  const addEvent = (e: Json, selectorHint?: string) => {
    const t = time(e.time)
    const arm = str(e.arm)
    if (t === undefined || !arm) return
    const row: SelectionEventRow = {
      selector: str(e.selector) ?? selectorHint ?? '',
      time: t,
      kind: str(e.kind) ?? '',
      arm,
    }
    const value = num(e.value)
    if (value !== undefined) row.value = value
    history.push(row)
  }
  const selectors = listOf(root.selectors)
  if (selectors.length > 0) {
    for (const s of selectors.filter(isObject)) {
      const selector = str(s.selector ?? s.name) ?? ''
      for (const a of listOf(s.arms).filter(isObject)) addArm(a, selector)
      const chosen = str(s.current ?? s.choice ?? s.chosen)
      if (chosen) current.set(selector, chosen)
      const pin = str(s.pinned)
      if (pin) pinned.set(selector, pin)
      for (const e of listOf(s.history, 'events').filter(isObject)) addEvent(e, selector)
    }
  }
  for (const a of listOf(root.arms).filter(isObject)) addArm(a)
  for (const e of listOf(root.history ?? root.events).filter(isObject)) addEvent(e)
  if (isObject(root.current)) {
    for (const [selector, arm] of Object.entries(root.current))
      if (typeof arm === 'string') current.set(selector, arm)
  }
  history.sort((a, b) => a.time - b.time)
  return { arms, current, pinned, history }
}

export async function loadRuns(api: Api): Promise<Run[]> {
  const body = await api.get<unknown>('/runs')
  return listOf(body, 'runs').filter(isObject).map(toRun)
}

/** One run with its log (`GET /runs/:id` answers both). */
export async function loadRun(api: Api, id: string): Promise<{ run: Run; logs: LogLine[] }> {
  const body = await api.get<unknown>(`/runs/${encodeURIComponent(id)}`)
  const root = isObject(body) ? body : {}
  const run = toRun(isObject(root.run) ? root.run : root)
  const logs = listOf(root.logs)
    .filter(isObject)
    .map((l, i) => {
      const line: LogLine = {
        seq: num(l.seq) ?? i,
        level: str(l.level) ?? 'info',
        message: str(l.message) ?? '',
      }
      const t = time(l.time)
      if (t !== undefined) line.time = t
      return line
    })
  return { run, logs }
}

function toRun(r: Json): Run {
  const run: Run = {
    id: str(r.id) ?? '?',
    kind: str(r.kind) ?? '',
    status: str(r.status) ?? 'unknown',
    params: isObject(r.params) ? r.params : {},
    steps: listOf(r.steps, 'stages')
      .filter(isObject)
      .map((s) => {
        const step: RunStep = { name: str(s.name) ?? '?', status: str(s.status) ?? 'unknown' }
        const startedAt = time(s.startedAt)
        if (startedAt !== undefined) step.startedAt = startedAt
        const endedAt = time(s.endedAt ?? s.finishedAt)
        if (endedAt !== undefined) step.endedAt = endedAt
        const error = str(s.error)
        if (error) step.error = error
        if (isObject(s.outputs)) step.outputs = s.outputs
        return step
      }),
    metrics: numbers(r.metrics),
  }
  const createdAt = time(r.createdAt)
  if (createdAt !== undefined) run.createdAt = createdAt
  const startedAt = time(r.startedAt)
  if (startedAt !== undefined) run.startedAt = startedAt
  const endedAt = time(r.endedAt ?? r.finishedAt)
  if (endedAt !== undefined) run.endedAt = endedAt
  const error = str(r.error)
  if (error) run.error = error
  return run
}

/** One reading as the live feed carries it. */
export interface LiveReading {
  deviceId: string
  time: number
  measure: string
  value: number
  source: string
}

/**
 * The readings of a `readings` event. The server sends the newest values per device of each stored
 * batch (`{source, count, devices: [{device, time, values}]}`); `complete` is false when the batch held
 * more rows than that, so a view that draws history knows to refetch.
 */
export function readingsFromEvent(message: unknown): { readings: LiveReading[]; complete: boolean } {
  if (!isObject(message)) return { readings: [], complete: true }
  const source = str(message.source) ?? ''
  const readings: LiveReading[] = []
  for (const d of listOf(message.devices).filter(isObject)) {
    const deviceId = str(d.device ?? d.deviceId)
    const t = time(d.time)
    if (!deviceId || t === undefined || !isObject(d.values)) continue
    for (const [measure, v] of Object.entries(d.values)) {
      const value = num(v)
      if (value !== undefined) readings.push({ deviceId, time: t, measure, value, source })
    }
  }
  for (const r of listOf(message.readings).filter(isObject)) {
    const deviceId = str(r.deviceId ?? r.device)
    const t = time(r.time)
    const measure = str(r.measure)
    const value = num(r.value)
    if (deviceId && t !== undefined && measure && value !== undefined) {
      readings.push({ deviceId, time: t, measure, value, source: str(r.source) ?? source })
    }
  }
  const count = num(message.count)
  return { readings, complete: count === undefined || count <= readings.length }
}

/** The forecast rows of a `predictions` event. */
export function predictionsFromEvent(message: unknown): {
  deviceId?: string
  modelVersion?: string
  predictions: Array<{ time: number; measureName: string; value: number }>
} {
  if (!isObject(message)) return { predictions: [] }
  const predictions = listOf(message.predictions)
    .filter(isObject)
    .flatMap((p) => {
      const t = time(p.time)
      const measureName = str(p.measureName ?? p.measure_name)
      const value = num(p.value)
      return t !== undefined && measureName && value !== undefined ? [{ time: t, measureName, value }] : []
    })
  const out: ReturnType<typeof predictionsFromEvent> = { predictions }
  const deviceId = str(message.device ?? message.deviceId)
  if (deviceId) out.deviceId = deviceId
  const modelVersion = str(message.modelVersion)
  if (modelVersion) out.modelVersion = modelVersion
  return out
}

/** The device of a `devices` event (a device seen for the first time). */
export function deviceFromEvent(message: unknown): DeviceSummary | undefined {
  if (!isObject(message)) return undefined
  return toDevice({ ...message, id: message.device ?? message.deviceId })
}
