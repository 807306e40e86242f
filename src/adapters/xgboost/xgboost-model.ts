/** What the XGBoost forecast and classification models share: a booster, and how it predicts, saves and is freed. */
import { AirlakeError } from '../../core/errors.js'
import type { ModelArtifact, Signature } from '../../core/model.js'
import type { BoosterHandle, XgboostLibrary } from './xgboost-library.js'

/** The artifact format both XGBoost loaders read. */
export const XGBOOST_FORMAT = 'xgboost-ubj'

/**
 * Fewer rows than this are predicted on one thread. XGBoost splits a prediction into blocks of 64 rows, one
 * per thread; below a few blocks, waking OpenMP's other threads costs more than they save. One IAQ window
 * (60 rounds, depth 4, 15 outputs): 0.07-0.11 ms on one thread against 0.17-0.19 ms on two; 256 windows
 * about even (2.8 ms); 4,096 windows 41 ms against 24 ms.
 */
const PARALLEL_ROWS = 512

export abstract class XgboostModel<S extends Signature> {
  readonly algorithm = 'xgboost'
  private booster: BoosterHandle | undefined
  /** The booster's current `nthread`. */
  private threadsNow: number

  /**
   * `booster` was created or loaded with `nthread = threads`, the most a large prediction uses.
   * `description` is what the model needs besides the trees to reload (saved in `model.json`).
   */
  constructor(
    readonly signature: S,
    protected readonly library: XgboostLibrary,
    booster: BoosterHandle,
    private readonly threads: number,
    private readonly description: Record<string, unknown>,
    private readonly params: Record<string, unknown>,
  ) {
    this.booster = booster
    this.threadsNow = threads
  }

  /** The booster's raw outputs for `n` rows of `d` features (row-major). Throws INTERNAL once disposed. */
  protected boost(x: Float32Array, n: number, d: number): Float32Array {
    if (this.booster === undefined)
      throw new AirlakeError('INTERNAL', 'this XGBoost model was disposed; load it again')
    const threads = n < PARALLEL_ROWS ? 1 : this.threads
    if (threads !== this.threadsNow) {
      this.library.setParams(this.booster, { nthread: threads })
      this.threadsNow = threads
    }
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
