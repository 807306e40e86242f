/**
 * Serving: resolves `<model>@<alias|version>` to a loaded ForecastModel and scores windows with it.
 *
 * Loaded models stay in a cache keyed `<model>@<version>`; the alias table (which version each alias
 * points at) is cached too and reloaded on every `models.changed` message, so moving `champion` makes
 * the next call load and serve the new version while calls in flight finish on the old one, which is
 * disposed once they are done. The same table gives the live forecaster its candidates: every version
 * under a serving alias (`champion`, `challenger`) whose signature forecasts the measure.
 */
import { AirlakeError, isAirlakeError, wrapError } from '../core/errors.js'
import type { ForecastModel, ForecastSignature, WindowBatch } from '../core/model.js'
import type { Bus } from '../core/ports/bus.js'
import type { Logger } from '../core/ports/logger.js'
import type { RegistryStore } from '../core/ports/store.js'
import { describeSignature, formatPredictions, parseInvocation } from './invocations.js'
import { parseModelRef } from './registry.js'

/** Rebuilds a registered model version from its artifact (the registry's loader, injected). */
export type LoadModel = (model: string, version: number) => Promise<ForecastModel>

/** A resolved model version. */
export interface ServedModel {
  model: string
  version: number
  /** `<model>@<version>`: the arm name and the `model_version` written with predictions. */
  arm: string
  signature: ForecastSignature
}

export interface ServingDeps {
  store: Pick<RegistryStore, 'getModel' | 'getModelVersion' | 'listAliases'>
  logger: Logger
  loadModel: LoadModel
  /** When given, `models.changed` messages reload the alias table. */
  bus?: Bus | undefined
}

export interface ServingOptions {
  /** Aliases whose versions are live candidates; the first one is what `?model=name` means. */
  servingAliases?: readonly string[]
}

interface LoadedModel {
  model: ForecastModel
  inflight: number
  retired: boolean
}

interface AliasTable {
  /** `<model>@<alias>` -> version */
  versions: Map<string, number>
  /** Candidates of each measure, in (model, alias order) order, one per version. */
  candidates: Map<string, ServedModel[]>
  /** Models that hold the default alias. */
  defaults: string[]
}

/** Reads a stored signature as a forecasting one, or undefined when it is not (a classifier). */
export function forecastSignatureOf(signature: Record<string, unknown>): ForecastSignature | undefined {
  const { task, measure, window, horizon, stepMs, seasonSteps } = signature
  if (task !== 'forecast' || typeof measure !== 'string') return undefined
  if (![window, horizon, stepMs].every((n) => typeof n === 'number' && Number.isInteger(n) && n > 0))
    return undefined
  return {
    task,
    measure,
    window: window as number,
    horizon: horizon as number,
    stepMs: stepMs as number,
    seasonSteps: typeof seasonSteps === 'number' ? seasonSteps : undefined,
  }
}

/**
 * Throws SIGNATURE_MISMATCH unless `batch` is n >= 1 windows of exactly L finite values; the message
 * says what was expected.
 */
export function checkWindowBatch(signature: ForecastSignature, batch: WindowBatch): void {
  const { window } = signature
  if (!Number.isInteger(batch.n) || batch.n < 1 || batch.windows.length !== batch.n * window) {
    const per = batch.n > 0 ? batch.windows.length / batch.n : batch.windows.length
    throw new AirlakeError(
      'SIGNATURE_MISMATCH',
      `expected ${window} values per instance (${describeSignature(signature)}), got ${Number.isInteger(per) ? per : batch.windows.length} for ${batch.n} windows`,
    )
  }
  for (let i = 0; i < batch.windows.length; i++) {
    if (!Number.isFinite(batch.windows[i]!)) {
      throw new AirlakeError(
        'SIGNATURE_MISMATCH',
        `window ${Math.floor(i / window)} value ${i % window} is ${batch.windows[i]}: every value must be a finite number (${describeSignature(signature)})`,
      )
    }
  }
}

/** Loads, caches and serves model versions; one per process, shared by the API and the live forecaster. */
export class ModelServer {
  private readonly loaded = new Map<string, LoadedModel>()
  private readonly loading = new Map<string, Promise<LoadedModel>>()
  private readonly aliases: readonly string[]
  private table: AliasTable | undefined
  private tableLoad: Promise<AliasTable> | undefined
  private stale = true
  private unsubscribe: (() => void) | undefined

  constructor(
    private readonly deps: ServingDeps,
    options: ServingOptions = {},
  ) {
    this.aliases = options.servingAliases ?? ['champion', 'challenger']
    if (this.aliases.length === 0)
      throw new AirlakeError('CONFIG_INVALID', 'serving needs at least one alias, e.g. champion')
  }

  /** Loads the alias table and follows `models.changed`. Idempotent. */
  async start(): Promise<void> {
    if (this.unsubscribe === undefined && this.deps.bus !== undefined) {
      this.unsubscribe = this.deps.bus.subscribe('models.changed', (message) => {
        this.deps.logger.info('registry changed: reloading serving aliases', {
          model: message.model,
          alias: message.alias,
        })
        this.stale = true
        return this.aliasTable().then(() => undefined)
      })
    }
    await this.aliasTable()
  }

  /** Stops following the registry and disposes every loaded model (after calls in flight). */
  async close(): Promise<void> {
    this.unsubscribe?.()
    this.unsubscribe = undefined
    await Promise.allSettled([...this.loading.values()])
    for (const [key, entry] of this.loaded) this.retire(key, entry)
  }

  /** Marks the alias table out of date (the next call reloads it), for callers without a bus. */
  invalidate(): void {
    this.stale = true
  }

  /**
   * The version `ref` names: `<model>@<version>`, `<model>@<alias>`, `<model>` (its first serving alias),
   * or nothing (the one model holding the first serving alias). Throws PARAMETER_INVALID for a malformed
   * or ambiguous ref, MODEL_NOT_FOUND when no such model, alias or version exists, BAD_REQUEST when the
   * model is not a forecasting model.
   */
  async resolve(ref?: string): Promise<ServedModel> {
    const table = await this.aliasTable()
    const defaultAlias = this.aliases[0]!
    if (ref === undefined || ref === '') {
      if (table.defaults.length === 1) return this.resolve(`${table.defaults[0]}@${defaultAlias}`)
      throw table.defaults.length === 0
        ? new AirlakeError(
            'MODEL_NOT_FOUND',
            `no model holds the ${defaultAlias} alias: train one, then \`airlake models promote NAME VERSION --alias ${defaultAlias}\``,
          )
        : new AirlakeError(
            'PARAMETER_INVALID',
            `several models hold the ${defaultAlias} alias (${table.defaults.join(', ')}): say which with ?model=${table.defaults[0]}@${defaultAlias}`,
          )
    }
    const parsed = parseModelRef(ref)
    const model = parsed.name
    const alias = parsed.alias ?? defaultAlias
    let version = parsed.version ?? table.versions.get(`${model}@${alias}`)
    if (version === undefined) {
      // Not a serving alias (or the table is behind): ask the registry.
      const record = await this.deps.store.getModel(model)
      if (record === undefined)
        throw new AirlakeError('MODEL_NOT_FOUND', `there is no model ${model}: see \`airlake models list\``)
      version = record.aliases[alias]
      if (version === undefined) {
        const known = Object.keys(record.aliases)
        throw new AirlakeError(
          'MODEL_NOT_FOUND',
          `model ${model} has no alias ${alias} (${known.length > 0 ? `it has ${known.join(', ')}` : 'it has no aliases'}): promote a version with \`airlake models promote ${model} VERSION --alias ${alias}\` or give a version number`,
        )
      }
    }
    const arm = `${model}@${version}`
    const cached = this.loaded.get(arm)
    if (cached !== undefined && !cached.retired)
      return { model, version, arm, signature: cached.model.signature }
    const record = await this.deps.store.getModelVersion(model, version)
    if (record === undefined) {
      throw new AirlakeError(
        'MODEL_NOT_FOUND',
        `model ${model} has no version ${version}: see \`airlake models list\``,
      )
    }
    const signature = forecastSignatureOf(record.signature)
    if (signature === undefined) {
      throw new AirlakeError(
        'BAD_REQUEST',
        `${arm} is not a forecasting model (signature task ${JSON.stringify(record.signature.task)}): /invocations serves forecasting models`,
      )
    }
    return { model, version, arm, signature }
  }

  /**
   * Forecasts `batch` with `served` (loading it if needed): row-major n × H. Throws SIGNATURE_MISMATCH
   * (400) when the batch does not fit the signature, DEPENDENCY_MISSING or INTERNAL when the model fails.
   */
  async predict(served: ServedModel, batch: WindowBatch): Promise<Float64Array> {
    const entry = await this.acquire(served)
    try {
      checkWindowBatch(entry.model.signature, batch)
      return await entry.model.predict(batch)
    } catch (error) {
      throw isAirlakeError(error)
        ? error
        : wrapError(error, 'INTERNAL', `${served.arm} failed to forecast ${batch.n} windows`)
    } finally {
      this.release(served.arm, entry)
    }
  }

  /**
   * Answers a POST /invocations body: resolves `ref`, reads the body against the model's own signature,
   * forecasts. Errors as `resolve`, `parseInvocation` and `predict`.
   */
  async invoke(
    ref: string | undefined,
    body: unknown,
  ): Promise<{ served: ServedModel; predictions: number[][] }> {
    const served = await this.resolve(ref)
    const entry = await this.acquire(served)
    try {
      const signature = entry.model.signature
      const batch = parseInvocation(body, signature)
      const forecasts = await entry.model.predict(batch)
      return { served: { ...served, signature }, ...formatPredictions(forecasts, batch.n, signature.horizon) }
    } catch (error) {
      throw isAirlakeError(error) ? error : wrapError(error, 'INTERNAL', `${served.arm} failed to forecast`)
    } finally {
      this.release(served.arm, entry)
    }
  }

  /**
   * Live candidates for a device's measure: versions under a serving alias whose signature forecasts the
   * measure. Models trained on this device (named `<device>.<measure>.<algorithm>` by the registry) are
   * preferred; a device without its own models is served by the others of that measure.
   */
  async candidates(deviceId: string, measure: string): Promise<ServedModel[]> {
    const all = (await this.aliasTable()).candidates.get(measure) ?? []
    const own = all.filter((candidate) => candidate.model.startsWith(`${deviceId}.${measure}.`))
    return own.length > 0 ? own : all
  }

  /** The measures that have at least one live candidate (from the cached table; empty before start). */
  servedMeasures(): ReadonlySet<string> {
    return new Set(this.table?.candidates.keys() ?? [])
  }

  /** `<model>@<version>` of every model currently loaded. */
  loadedModels(): string[] {
    return [...this.loaded.keys()].sort()
  }

  private async acquire(served: ServedModel): Promise<LoadedModel> {
    let entry = this.loaded.get(served.arm)
    if (entry === undefined || entry.retired) {
      let loading = this.loading.get(served.arm)
      if (loading === undefined) {
        loading = this.load(served).finally(() => this.loading.delete(served.arm))
        this.loading.set(served.arm, loading)
      }
      entry = await loading
    }
    entry.inflight++
    return entry
  }

  private release(arm: string, entry: LoadedModel): void {
    entry.inflight--
    if (entry.retired && entry.inflight === 0) this.dispose(arm, entry)
  }

  private async load(served: ServedModel): Promise<LoadedModel> {
    const started = performance.now()
    let model: ForecastModel
    try {
      model = await this.deps.loadModel(served.model, served.version)
    } catch (error) {
      throw wrapError(error, 'INTERNAL', `could not load ${served.arm} from the registry`)
    }
    const entry: LoadedModel = { model, inflight: 0, retired: false }
    this.loaded.set(served.arm, entry)
    this.deps.logger.info('model loaded', {
      model: served.arm,
      algorithm: model.algorithm,
      ms: Math.round(performance.now() - started),
    })
    return entry
  }

  private retire(arm: string, entry: LoadedModel): void {
    entry.retired = true
    if (this.loaded.get(arm) === entry) this.loaded.delete(arm)
    if (entry.inflight === 0) this.dispose(arm, entry)
  }

  private dispose(arm: string, entry: LoadedModel): void {
    try {
      entry.model.dispose()
      this.deps.logger.info('model unloaded', { model: arm })
    } catch (error) {
      this.deps.logger.warn('model dispose failed', { model: arm, error: String(error) })
    }
  }

  private aliasTable(): Promise<AliasTable> {
    if (!this.stale && this.table !== undefined) return Promise.resolve(this.table)
    if (this.tableLoad === undefined) {
      this.stale = false
      this.tableLoad = this.loadTable()
        .then((table) => {
          this.table = table
          this.retireUnaliased(table)
          return table
        })
        .catch((error: unknown) => {
          this.stale = true
          throw wrapError(error, 'STORE_UNAVAILABLE', 'could not read the serving aliases from the registry')
        })
        .finally(() => {
          this.tableLoad = undefined
        })
    }
    return this.tableLoad
  }

  private async loadTable(): Promise<AliasTable> {
    const rows = (await this.deps.store.listAliases()).sort(
      (a, b) =>
        (a.model < b.model ? -1 : a.model > b.model ? 1 : 0) ||
        this.aliases.indexOf(a.alias) - this.aliases.indexOf(b.alias),
    )
    const versions = new Map(rows.map((row) => [`${row.model}@${row.alias}`, row.version]))
    const serving = rows.filter((row) => this.aliases.includes(row.alias))
    const unique = [...new Map(serving.map((row) => [`${row.model}@${row.version}`, row])).values()]
    const records = await Promise.all(
      unique.map((row) => this.deps.store.getModelVersion(row.model, row.version)),
    )
    const candidates = new Map<string, ServedModel[]>()
    unique.forEach((row, i) => {
      const signature = records[i] === undefined ? undefined : forecastSignatureOf(records[i]!.signature)
      if (signature === undefined) return
      const list = candidates.get(signature.measure) ?? []
      list.push({ model: row.model, version: row.version, arm: `${row.model}@${row.version}`, signature })
      candidates.set(signature.measure, list)
    })
    const defaults = rows.filter((row) => row.alias === this.aliases[0]).map((row) => row.model)
    return { versions, candidates, defaults }
  }

  /** Unloads versions no alias points at any more (a moved champion); a later explicit call reloads them. */
  private retireUnaliased(table: AliasTable): void {
    const aliased = new Set(
      [...table.versions.entries()].map(([key, version]) => `${key.split('@')[0]}@${version}`),
    )
    for (const [arm, entry] of this.loaded) if (!aliased.has(arm)) this.retire(arm, entry)
  }
}
