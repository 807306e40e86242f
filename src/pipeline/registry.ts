/**
 * The model registry (DESIGN.md section 6), MLflow-like: named models with numbered versions (algorithm,
 * signature, metrics, params, gold snapshot id, artifact, run) and aliases (`champion`, `challenger`).
 *
 * Records live in the store; artifact files in the lake under `models/<name>/<version>/`: every file of
 * the model's artifact plus `artifact.json` (algorithm, format, signature, params, file list), enough to
 * reload the model with its trainer's `load`. The version record is the source of truth: files at a
 * version with no record are leftovers of an interrupted registration and are overwritten.
 *
 * Model names: `<device>.<measure>.<algorithm>` for models trained here (`motorway-ch.nox_ppb.ridge`);
 * imported models take the name given.
 */
import { readFile } from 'node:fs/promises'
import { AirlakeError, wrapError } from '../core/errors.js'
import type {
  ForecastModel,
  ForecastSignature,
  ForecastTrainer,
  ModelArtifact,
  Signature,
} from '../core/model.js'
import type { Bus } from '../core/ports/bus.js'
import type { Clock } from '../core/ports/clock.js'
import type { Lake } from '../core/ports/lake.js'
import type { ModelVersionRecord, RegistryStore } from '../core/ports/store.js'

export interface RegistryDeps {
  store: RegistryStore
  lake: Lake
  bus: Bus
  clock: Clock
}

/** Model names: 1–160 characters of letters, digits, `_`, `.`, `:`, `~`, `-` (URL-safe, lake-safe). */
export const MODEL_NAME_PATTERN = /^[A-Za-z0-9_.:~-]{1,160}$/
/** Alias names: a lowercase letter, then lowercase letters, digits, `_` or `-`. */
export const ALIAS_PATTERN = /^[a-z][a-z0-9_-]{0,31}$/
const ARTIFACT_ENVELOPE = 'artifact.json'

/** The registry name of a model trained here: `<device>.<measure>.<algorithm>`. */
export function modelName(deviceId: string, measure: string, algorithm: string): string {
  return `${deviceId}.${measure}.${algorithm}`
}

/** Throws PARAMETER_INVALID unless `name` is a valid model name. */
export function checkModelName(name: string): string {
  if (!MODEL_NAME_PATTERN.test(name) || name.includes('..')) {
    throw new AirlakeError(
      'PARAMETER_INVALID',
      `model name ${JSON.stringify(name)} must be 1–160 letters, digits, "_", ".", ":", "~" or "-" (no "..")`,
    )
  }
  return name
}

/** Lake folder of a version's artifact. */
export function artifactFolder(name: string, version: number): string {
  return `models/${name}/${version}/`
}

/** A model reference `name`, `name@alias` or `name@3`. */
export interface ModelRef {
  name: string
  alias?: string | undefined
  version?: number | undefined
}

/** Parses `name[@alias|@version]`; throws PARAMETER_INVALID for a malformed reference. */
export function parseModelRef(text: string): ModelRef {
  const at = text.lastIndexOf('@')
  const name = checkModelName(at < 0 ? text : text.slice(0, at))
  if (at < 0) return { name }
  const selector = text.slice(at + 1)
  if (/^\d+$/.test(selector)) return { name, version: Number(selector) }
  if (ALIAS_PATTERN.test(selector)) return { name, alias: selector }
  throw new AirlakeError(
    'PARAMETER_INVALID',
    `model reference ${JSON.stringify(text)}: write name@alias or name@version`,
  )
}

// Registrations of one model are serialised in this process, so two runs never race for a version number.
const registering = new Map<string, Promise<unknown>>()

/**
 * Registers a new version of `input.name` (created on first use): writes the artifact files, then the
 * record, then publishes `models.changed`. If the record cannot be written the files are removed.
 * Throws PARAMETER_INVALID for a bad name, LAKE_UNAVAILABLE / STORE_UNAVAILABLE when storage fails.
 */
export async function registerModelVersion(
  deps: RegistryDeps,
  input: {
    name: string
    task?: 'forecast' | 'classification'
    artifact: ModelArtifact
    metrics: Record<string, number>
    params?: Record<string, unknown>
    snapshotId?: string | undefined
    runId?: string | undefined
    description?: string | undefined
  },
): Promise<ModelVersionRecord> {
  const name = checkModelName(input.name)
  if (ARTIFACT_ENVELOPE in input.artifact.files) {
    throw new AirlakeError(
      'PARAMETER_INVALID',
      `an artifact file may not be named ${ARTIFACT_ENVELOPE} (the registry writes it)`,
    )
  }
  for (const file of Object.keys(input.artifact.files)) {
    if (!/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/.test(file) || file.split('/').includes('..')) {
      throw new AirlakeError(
        'PARAMETER_INVALID',
        `artifact file name ${JSON.stringify(file)} is not a safe relative path`,
      )
    }
  }
  const previous = registering.get(name) ?? Promise.resolve()
  const work = previous.catch(() => {}).then(() => registerNow(deps, name, input))
  registering.set(name, work)
  try {
    return await work
  } finally {
    if (registering.get(name) === work) registering.delete(name)
  }
}

async function registerNow(
  deps: RegistryDeps,
  name: string,
  input: Parameters<typeof registerModelVersion>[1],
): Promise<ModelVersionRecord> {
  const existing = await deps.store.getModel(name)
  const version = (existing?.latestVersion ?? 0) + 1
  const folder = artifactFolder(name, version)
  const { artifact } = input
  const envelope = {
    algorithm: artifact.algorithm,
    format: artifact.format,
    signature: artifact.signature,
    params: artifact.params,
    files: Object.keys(artifact.files).sort(),
  }
  const written: string[] = []
  try {
    for (const [file, bytes] of Object.entries(artifact.files)) {
      await deps.lake.put(`${folder}${file}`, bytes, { overwrite: true })
      written.push(`${folder}${file}`)
    }
    await deps.lake.put(`${folder}${ARTIFACT_ENVELOPE}`, JSON.stringify(envelope, null, 2), {
      overwrite: true,
    })
    written.push(`${folder}${ARTIFACT_ENVELOPE}`)
    const record = await deps.store.createModelVersion({
      model: name,
      task: input.task ?? artifact.signature.task,
      algorithm: artifact.algorithm,
      signature: artifact.signature as unknown as Record<string, unknown>,
      metrics: input.metrics,
      params: { ...artifact.params, ...input.params },
      snapshotId: input.snapshotId,
      artifactKey: folder,
      runId: input.runId,
      createdAt: deps.clock.now(),
      description: input.description,
    })
    if (record.version !== version) {
      throw new AirlakeError(
        'CONFLICT',
        `model ${name} got version ${record.version} while its files were written as version ${version}: another process registered at the same time; register again`,
      )
    }
    await deps.bus.publish('models.changed', { model: name, version })
    return record
  } catch (error) {
    await Promise.all(written.map((key) => deps.lake.delete(key).catch(() => false)))
    throw wrapError(error, 'STORE_UNAVAILABLE', `registering version ${version} of model ${name} failed`)
  }
}

/** The version a reference points at: an explicit version, an alias, or the latest. */
export async function resolveModelVersion(store: RegistryStore, ref: ModelRef): Promise<ModelVersionRecord> {
  const model = await store.getModel(ref.name)
  if (!model)
    throw new AirlakeError(
      'MODEL_NOT_FOUND',
      `no model ${ref.name}: list models with \`airlake models list\``,
    )
  let version = ref.version ?? model.latestVersion
  if (ref.alias !== undefined) {
    const aliased = model.aliases[ref.alias]
    if (aliased === undefined) {
      const known = Object.keys(model.aliases)
      throw new AirlakeError(
        'MODEL_NOT_FOUND',
        `model ${ref.name} has no alias ${ref.alias}${known.length ? ` (it has ${known.join(', ')})` : ''}: set one with \`airlake models promote ${ref.name} VERSION --alias ${ref.alias}\``,
      )
    }
    version = aliased
  }
  const record = await store.getModelVersion(ref.name, version)
  if (!record)
    throw new AirlakeError(
      'MODEL_NOT_FOUND',
      `model ${ref.name} has no version ${version} (latest is ${model.latestVersion})`,
    )
  return record
}

/** Reads a version's artifact back from the lake; throws NOT_FOUND when files are missing. */
export async function readArtifact(lake: Lake, record: ModelVersionRecord): Promise<ModelArtifact> {
  const envelopeBytes = await lake.get(`${record.artifactKey}${ARTIFACT_ENVELOPE}`)
  if (!envelopeBytes) {
    throw new AirlakeError(
      'NOT_FOUND',
      `the artifact of ${record.model}@${record.version} is missing at ${lake.location}/${record.artifactKey}`,
    )
  }
  const envelope = JSON.parse(new TextDecoder().decode(envelopeBytes)) as {
    algorithm: string
    format: string
    signature: Signature
    params: Record<string, unknown>
    files: string[]
  }
  const files: Record<string, Uint8Array> = {}
  for (const file of envelope.files) {
    const bytes = await lake.get(`${record.artifactKey}${file}`)
    if (!bytes)
      throw new AirlakeError(
        'NOT_FOUND',
        `file ${file} of ${record.model}@${record.version} is missing from the lake`,
      )
    files[file] = bytes
  }
  return {
    algorithm: envelope.algorithm,
    format: envelope.format,
    signature: envelope.signature,
    params: envelope.params,
    files,
  }
}

/**
 * Loads a registered forecasting model with the trainer of its algorithm. Throws MODEL_NOT_FOUND for an
 * unknown model, alias or version, DEPENDENCY_MISSING when no trainer here can load the algorithm.
 */
export async function loadForecastModel(
  deps: { store: RegistryStore; lake: Lake; trainers: Readonly<Record<string, ForecastTrainer>> },
  ref: ModelRef | string,
): Promise<{ model: ForecastModel; version: ModelVersionRecord }> {
  const record = await resolveModelVersion(deps.store, typeof ref === 'string' ? parseModelRef(ref) : ref)
  const trainer = deps.trainers[record.algorithm]
  if (!trainer) {
    throw new AirlakeError(
      'DEPENDENCY_MISSING',
      `cannot load ${record.model}@${record.version}: no ${record.algorithm} loader here (have ${Object.keys(deps.trainers).join(', ')})`,
    )
  }
  const availability = trainer.available()
  if (!availability.ok)
    throw new AirlakeError(
      'DEPENDENCY_MISSING',
      `cannot load ${record.model}@${record.version}: ${availability.reason}`,
    )
  const model = await trainer.load(await readArtifact(deps.lake, record))
  return { model, version: record }
}

/**
 * Points `alias` of `name` at `version` (moving it when set) and publishes `models.changed`. Throws
 * PARAMETER_INVALID for a bad alias, MODEL_NOT_FOUND for an unknown model or version.
 */
export async function promoteModel(
  deps: RegistryDeps,
  input: { name: string; version: number; alias: string },
): Promise<ModelVersionRecord> {
  if (!ALIAS_PATTERN.test(input.alias)) {
    throw new AirlakeError(
      'PARAMETER_INVALID',
      `alias ${JSON.stringify(input.alias)} must be lowercase letters, digits, "_" or "-" (e.g. champion)`,
    )
  }
  if (!Number.isInteger(input.version) || input.version < 1) {
    throw new AirlakeError('PARAMETER_INVALID', `version must be a whole number >= 1, got ${input.version}`)
  }
  const record = await resolveModelVersion(deps.store, { name: input.name, version: input.version })
  await deps.store.setAlias(input.name, input.alias, input.version)
  await deps.bus.publish('models.changed', { model: input.name, version: input.version, alias: input.alias })
  return record
}

/**
 * Registers an ONNX forecasting model trained elsewhere: the file becomes `model.onnx` of an artifact
 * with algorithm and format `onnx` and the given signature; it is loaded once with the `onnx` trainer and
 * run on one window to prove it answers (-1, L) -> (-1, H) before it is registered. Throws
 * DEPENDENCY_MISSING without an onnx loader, SIGNATURE_MISMATCH when the model does not fit.
 */
export async function registerOnnx(
  deps: RegistryDeps & { trainers: Readonly<Record<string, ForecastTrainer>> },
  input: {
    path?: string
    bytes?: Uint8Array
    name: string
    signature: ForecastSignature
    description?: string
  },
): Promise<ModelVersionRecord> {
  checkModelName(input.name)
  const trainer = deps.trainers.onnx
  if (!trainer)
    throw new AirlakeError('DEPENDENCY_MISSING', 'no onnx loader is configured in this build of airlake')
  const availability = trainer.available()
  if (!availability.ok) throw new AirlakeError('DEPENDENCY_MISSING', availability.reason)
  let bytes = input.bytes
  if (bytes === undefined) {
    if (input.path === undefined)
      throw new AirlakeError('PARAMETER_INVALID', 'give the ONNX file to register')
    try {
      bytes = new Uint8Array(await readFile(input.path))
    } catch (error) {
      throw wrapError(error, 'FILE_INVALID', `cannot read the ONNX file ${input.path}`)
    }
  }
  const { window: L, horizon: H } = input.signature
  if (!Number.isInteger(L) || L < 1 || !Number.isInteger(H) || H < 1 || !(input.signature.stepMs > 0)) {
    throw new AirlakeError(
      'PARAMETER_INVALID',
      'an ONNX signature needs whole --window and --horizon >= 1 and a positive --step',
    )
  }
  const artifact: ModelArtifact = {
    algorithm: 'onnx',
    format: 'onnx',
    signature: input.signature,
    files: { 'model.onnx': bytes },
    params: {},
  }
  const model = await trainer.load(artifact)
  try {
    const out = await model.predict({ n: 1, windows: new Float64Array(L).fill(1) })
    if (out.length !== H) {
      throw new AirlakeError(
        'SIGNATURE_MISMATCH',
        `the ONNX model answers ${out.length} values for one window; the signature says ${H}`,
      )
    }
    const saved = await model.save()
    return await registerModelVersion(deps, {
      name: input.name,
      task: 'forecast',
      artifact: saved,
      metrics: {},
      params: { imported: true },
      description: input.description ?? 'ONNX model registered from a file',
    })
  } finally {
    model.dispose()
  }
}
