/** What the XGBoost forecast and classification models share: a booster, and how it predicts, saves and is freed. */
import { AirlakeError } from '../../core/errors.js'
import type { ModelArtifact, Signature } from '../../core/model.js'
import type { BoosterHandle, XgboostLibrary } from './xgboost-library.js'

/** The artifact format both XGBoost loaders read. */
export const XGBOOST_FORMAT = 'xgboost-ubj'

export abstract class XgboostModel<S extends Signature> {
  readonly algorithm = 'xgboost'
  private booster: BoosterHandle | undefined

  /** `description` is what the model needs besides the trees to reload (saved in `model.json`). */
  constructor(
    readonly signature: S,
    protected readonly library: XgboostLibrary,
    booster: BoosterHandle,
    private readonly description: Record<string, unknown>,
    private readonly params: Record<string, unknown>,
  ) {
    this.booster = booster
  }

  /** The booster's raw outputs for `n` rows of `d` features (row-major). Throws INTERNAL once disposed. */
  protected boost(x: Float32Array, n: number, d: number): Float32Array {
    if (this.booster === undefined)
      throw new AirlakeError('INTERNAL', 'this XGBoost model was disposed; load it again')
    const dmat = this.library.dmatrix(x, n, d)
    try {
      return this.library.predict(this.booster, dmat).values
    } finally {
      this.library.freeDMatrix(dmat)
    }
  }

  async save(): Promise<ModelArtifact> {
    return {
      algorithm: this.algorithm,
      signature: this.signature,
      format: XGBOOST_FORMAT,
      files: this.library.artifactFiles(this.booster, this.description),
      params: this.params,
    }
  }

  dispose(): void {
    if (this.booster !== undefined) this.library.freeBooster(this.booster)
    this.booster = undefined
  }
}
