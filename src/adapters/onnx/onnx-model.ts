/**
 * Serves ONNX forecasting models trained elsewhere (PyTorch, scikit-learn, Keras exports) through
 * onnxruntime-node: one float32 input n × L (the window, oldest first) to one output n × H. Such a model
 * carries its own normalisation. airlake does not train them: they are registered from a file with
 * `airlake models register-onnx` and then loaded, scored and selected like the models it trains.
 */
import { createRequire } from 'node:module'
import type { InferenceSession } from 'onnxruntime-node'
import { AirlakeError } from '../../core/errors.js'
import { checkWindows } from '../../core/features.js'
import type {
  ForecastModel,
  ForecastSignature,
  ForecastTrainer,
  ModelArtifact,
  TrainingBatch,
  WindowBatch,
} from '../../core/model.js'

const FORMAT = 'onnx'
const require = createRequire(import.meta.url)

/** What to tell a user when onnxruntime cannot run here. */
export const ONNX_INSTALL_HINT =
  'install onnxruntime-node with its native binding (npm install onnxruntime-node; a build installed with ONNXRUNTIME_NODE_INSTALL=skip on an unsupported platform has none)'

type Ort = typeof import('onnxruntime-node')
let runtime: { ort: Ort } | { error: string } | undefined

/** onnxruntime-node loaded once per process, or why it cannot be. */
function loadRuntime(): { ort: Ort } | { error: string } {
  if (runtime === undefined) {
    try {
      runtime = { ort: require('onnxruntime-node') as Ort }
    } catch (error) {
      runtime = { error: error instanceof Error ? error.message.split('\n')[0]! : String(error) }
    }
  }
  return runtime
}

function ortOrThrow(): Ort {
  const loaded = loadRuntime()
  if ('error' in loaded)
    throw new AirlakeError(
      'DEPENDENCY_MISSING',
      `onnxruntime-node cannot load (${loaded.error}): ${ONNX_INSTALL_HINT}`,
    )
  return loaded.ort
}

/** A fixed dimension of an input or output, or undefined when it is symbolic or unknown. */
function fixedDim(metadata: InferenceSession.ValueMetadata | undefined, index: number): number | undefined {
  if (metadata === undefined || !metadata.isTensor) return undefined
  const dim = metadata.shape[index]
  return typeof dim === 'number' && dim > 0 ? dim : undefined
}

class OnnxForecastModel implements ForecastModel {
  readonly algorithm = 'onnx'
  private session: InferenceSession | undefined

  constructor(
    readonly signature: ForecastSignature,
    private readonly ort: Ort,
    session: InferenceSession,
    private readonly bytes: Uint8Array,
    private readonly params: Record<string, unknown>,
  ) {
    this.session = session
  }

  async predict(batch: WindowBatch): Promise<Float64Array> {
    checkWindows(batch, this.signature)
    const session = this.session
    if (session === undefined)
      throw new AirlakeError('INTERNAL', 'this ONNX model was disposed; load it again')
    const { window: L, horizon: H } = this.signature
    if (batch.n === 0) return new Float64Array(0)
    const input = new this.ort.Tensor('float32', Float32Array.from(batch.windows), [batch.n, L])
    const inputName = session.inputNames[0]!
    const outputName = session.outputNames[0]!
    let results: InferenceSession.OnnxValueMapType
    try {
      results = await session.run({ [inputName]: input })
    } catch (error) {
      throw new AirlakeError(
        'SIGNATURE_MISMATCH',
        `the ONNX model refused ${batch.n} × ${L} float32 windows: ${error instanceof Error ? error.message : String(error)}`,
        {
          cause: error,
        },
      )
    } finally {
      input.dispose()
    }
    const output = results[outputName]!
    try {
      const values = output.data
      if (
        !(values instanceof Float32Array || values instanceof Float64Array) ||
        values.length !== batch.n * H
      ) {
        throw new AirlakeError(
          'SIGNATURE_MISMATCH',
          `the ONNX model answered ${ArrayBuffer.isView(values) ? `${(values as ArrayLike<number>).length} ${output.type} values` : output.type} for ${batch.n} windows; the signature says ${H} float values per window`,
        )
      }
      return Float64Array.from(values)
    } finally {
      for (const value of Object.values(results)) value.dispose()
    }
  }

  async save(): Promise<ModelArtifact> {
    const session = this.session
    const description =
      session === undefined ? {} : { input: session.inputNames[0], output: session.outputNames[0] }
    return {
      algorithm: this.algorithm,
      signature: this.signature,
      format: FORMAT,
      files: {
        'model.onnx': this.bytes,
        'model.json': new TextEncoder().encode(JSON.stringify(description)),
      },
      params: this.params,
    }
  }

  dispose(): void {
    void this.session?.release()
    this.session = undefined
  }
}

/** Loads registered ONNX forecasting models; `fit` explains that they are trained elsewhere. */
export class OnnxForecastLoader implements ForecastTrainer {
  readonly algorithm = 'onnx'

  /** Whether onnxruntime-node and its native binding load here; the reason says what is missing. */
  available(): { ok: true } | { ok: false; reason: string } {
    const loaded = loadRuntime()
    return 'error' in loaded
      ? { ok: false, reason: `onnxruntime-node cannot load (${loaded.error}): ${ONNX_INSTALL_HINT}` }
      : { ok: true }
  }

  /** Always throws PARAMETER_INVALID: ONNX models are trained elsewhere and registered from a file. */
  async fit(_data: TrainingBatch): Promise<ForecastModel> {
    throw new AirlakeError(
      'PARAMETER_INVALID',
      'ONNX models are trained elsewhere; register with `airlake models register-onnx` and leave onnx out of --models',
    )
  }

  /**
   * A model from an artifact holding `model.onnx`. Throws BAD_REQUEST for an artifact of another kind or
   * a file onnxruntime cannot read, SIGNATURE_MISMATCH when the graph's fixed input or output width
   * differs from the signature's window or horizon, DEPENDENCY_MISSING without onnxruntime-node.
   */
  async load(artifact: ModelArtifact): Promise<ForecastModel> {
    if (artifact.algorithm !== this.algorithm || artifact.format !== FORMAT) {
      throw new AirlakeError(
        'BAD_REQUEST',
        `the onnx loader reads ${FORMAT} artifacts, got ${artifact.algorithm}/${artifact.format}`,
      )
    }
    if (artifact.signature.task !== 'forecast')
      throw new AirlakeError('BAD_REQUEST', 'the ONNX artifact is not a forecasting model')
    const bytes = artifact.files['model.onnx']
    if (bytes === undefined) throw new AirlakeError('BAD_REQUEST', 'the ONNX artifact has no model.onnx')
    const ort = ortOrThrow()
    let session: InferenceSession
    try {
      session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 })
    } catch (error) {
      throw new AirlakeError(
        'BAD_REQUEST',
        `onnxruntime cannot read the ONNX file: ${error instanceof Error ? error.message : String(error)}`,
        {
          cause: error,
        },
      )
    }
    const { window: L, horizon: H } = artifact.signature
    const problems: string[] = []
    if (session.inputNames.length !== 1) problems.push(`it has ${session.inputNames.length} inputs, not one`)
    if (session.outputNames.length < 1) problems.push('it has no output')
    const inputWidth = fixedDim(session.inputMetadata[0], 1)
    const outputWidth = fixedDim(session.outputMetadata[0], 1)
    if (inputWidth !== undefined && inputWidth !== L)
      problems.push(`its input takes ${inputWidth} values per row, the window is ${L}`)
    if (outputWidth !== undefined && outputWidth !== H)
      problems.push(`its output gives ${outputWidth} values per row, the horizon is ${H}`)
    if (problems.length > 0) {
      await session.release()
      throw new AirlakeError(
        'SIGNATURE_MISMATCH',
        `the ONNX model does not fit (-1, ${L}) -> (-1, ${H}): ${problems.join('; ')}`,
      )
    }
    return new OnnxForecastModel(artifact.signature, ort, session, bytes, artifact.params)
  }
}
