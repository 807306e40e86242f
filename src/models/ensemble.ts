/**
 * An ensemble: the mean of several kinds' forecasts (by default XGBoost and MLP, whose errors on hourly
 * NOx are the least correlated of the six). Each member is trained on the same windows with its own
 * defaults and seed; the artifact holds every member's artifact, so the ensemble reloads exactly.
 */
import { AirlakeError } from '../core/errors.js'
import { checkWindows } from '../core/features.js'
import type {
  FitOptions,
  ForecastModel,
  ForecastSignature,
  ForecastTrainer,
  ModelArtifact,
  TrainingBatch,
  WindowBatch,
} from '../core/model.js'
import { forecastSignatureOf, jsonFile, readModelJson } from './artifact.js'

const FORMAT = 'airlake-ensemble/1'

/** The members trained when `params.members` does not name others. */
export const DEFAULT_MEMBERS = ['xgboost', 'mlp'] as const

interface MemberFile {
  algorithm: string
  format: string
  params: Record<string, unknown>
  files: string[]
}

class EnsembleModel implements ForecastModel {
  readonly algorithm = 'ensemble'

  constructor(
    readonly signature: ForecastSignature,
    private readonly members: readonly ForecastModel[],
  ) {}

  async predict(batch: WindowBatch): Promise<Float64Array> {
    checkWindows(batch, this.signature)
    const forecasts = await Promise.all(this.members.map((member) => member.predict(batch)))
    const mean = new Float64Array(batch.n * this.signature.horizon)
    for (const forecast of forecasts) for (let i = 0; i < mean.length; i++) mean[i]! += forecast[i]!
    for (let i = 0; i < mean.length; i++) mean[i]! /= forecasts.length
    return mean
  }

  async save(): Promise<ModelArtifact> {
    const files: Record<string, Uint8Array> = {}
    const members: MemberFile[] = []
    for (const [i, member] of this.members.entries()) {
      const artifact = await member.save()
      for (const [name, bytes] of Object.entries(artifact.files)) files[`member-${i}/${name}`] = bytes
      members.push({
        algorithm: artifact.algorithm,
        format: artifact.format,
        params: artifact.params,
        files: Object.keys(artifact.files),
      })
    }
    files['model.json'] = jsonFile({ members })
    return {
      algorithm: this.algorithm,
      signature: this.signature,
      format: FORMAT,
      files,
      params: { members: members.map((m) => m.algorithm) },
    }
  }

  dispose(): void {
    for (const member of this.members) member.dispose()
  }
}

/** Trains and reloads ensembles of the kinds in `trainers`. */
export class EnsembleTrainer implements ForecastTrainer {
  readonly algorithm = 'ensemble'

  constructor(
    private readonly trainers: Readonly<Record<string, ForecastTrainer>>,
    private readonly defaultMembers: readonly string[] = DEFAULT_MEMBERS,
  ) {}

  /** Available when every default member is. */
  available(): { ok: true } | { ok: false; reason: string } {
    for (const name of this.defaultMembers) {
      const trainer = this.trainers[name]
      if (trainer === undefined) return { ok: false, reason: `member kind ${name} is not in this build` }
      const availability = trainer.available()
      if (!availability.ok) return { ok: false, reason: `member ${name}: ${availability.reason}` }
    }
    return { ok: true }
  }

  /**
   * Fits every member on `data` (`params.members` names them, else the default members; `params.<kind>`
   * holds a member's own parameters). Progress is split evenly between the members.
   */
  async fit(data: TrainingBatch, options: FitOptions): Promise<ForecastModel> {
    const params = options.params ?? {}
    const names = Array.isArray(params.members) ? params.members.map(String) : [...this.defaultMembers]
    if (names.length < 2)
      throw new AirlakeError(
        'PARAMETER_INVALID',
        'an ensemble needs at least two members, e.g. ["xgboost","mlp"]',
      )
    const members: ForecastModel[] = []
    try {
      for (const [i, name] of names.entries()) {
        const trainer = this.member(name)
        members.push(
          await trainer.fit(data, {
            ...options,
            params: (params[name] as Record<string, unknown> | undefined) ?? {},
            onProgress: (fraction, message) =>
              options.onProgress?.((i + fraction) / names.length, `${name}: ${message}`),
          }),
        )
      }
    } catch (error) {
      for (const member of members) member.dispose()
      throw error
    }
    return new EnsembleModel(options.signature, members)
  }

  async load(artifact: ModelArtifact): Promise<ForecastModel> {
    const { members } = readModelJson(artifact, this.algorithm, FORMAT) as { members: MemberFile[] }
    const signature = forecastSignatureOf(artifact)
    const loaded: ForecastModel[] = []
    try {
      for (const [i, member] of members.entries()) {
        const files = Object.fromEntries(
          member.files.map((name) => {
            const bytes = artifact.files[`member-${i}/${name}`]
            if (bytes === undefined)
              throw new AirlakeError('BAD_REQUEST', `the ensemble artifact lacks member-${i}/${name}`)
            return [name, bytes]
          }),
        )
        loaded.push(
          await this.member(member.algorithm).load({
            algorithm: member.algorithm,
            format: member.format,
            params: member.params,
            signature,
            files,
          }),
        )
      }
    } catch (error) {
      for (const model of loaded) model.dispose()
      throw error
    }
    return new EnsembleModel(signature, loaded)
  }

  private member(name: string): ForecastTrainer {
    const trainer = this.trainers[name]
    if (trainer === undefined || name === this.algorithm) {
      throw new AirlakeError(
        'PARAMETER_INVALID',
        `ensemble member ${name} is not a model kind here: use ${Object.keys(this.trainers)
          .filter((k) => k !== this.algorithm)
          .join(', ')}`,
      )
    }
    return trainer
  }
}
