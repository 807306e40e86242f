/**
 * A tfjs layers model as artifact files, with no filesystem: `model.json` in TensorFlow.js's own
 * format (topology, weights manifest pointing at `weights.bin`) plus airlake's metadata under
 * `userDefinedMetadata`, and `weights.bin` holding the float32 weights. Loading gives back the exact
 * weights, so a reloaded model forecasts identically.
 */
import type { LayersModel } from '@tensorflow/tfjs'
import { AirlakeError } from '../../core/errors.js'
import type { Tf } from './tfjs-runtime.js'

/** The files of a saved layers model. */
export async function saveLayersModel(
  tf: Tf,
  model: LayersModel,
  metadata: Record<string, unknown>,
): Promise<{ 'model.json': Uint8Array; 'weights.bin': Uint8Array }> {
  let files: { 'model.json': Uint8Array; 'weights.bin': Uint8Array } | undefined
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const parts =
        artifacts.weightData === undefined
          ? []
          : Array.isArray(artifacts.weightData)
            ? artifacts.weightData
            : [artifacts.weightData]
      const weights = new Uint8Array(parts.reduce((sum, part) => sum + part.byteLength, 0))
      let offset = 0
      for (const part of parts) {
        weights.set(new Uint8Array(part), offset)
        offset += part.byteLength
      }
      const json = {
        format: 'layers-model',
        generatedBy: `TensorFlow.js tfjs-layers v${tf.version_layers}`,
        convertedBy: null,
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs ?? [] }],
        userDefinedMetadata: metadata,
      }
      files = { 'model.json': new TextEncoder().encode(JSON.stringify(json)), 'weights.bin': weights }
      return {
        modelArtifactsInfo: {
          dateSaved: new Date(0),
          modelTopologyType: 'JSON',
          weightDataBytes: weights.byteLength,
        },
      }
    }),
  )
  if (files === undefined)
    throw new AirlakeError('INTERNAL', 'TensorFlow.js did not hand over the model to save')
  return files
}

/** A layers model and its metadata from {@link saveLayersModel}'s files; BAD_REQUEST when they are not one. */
export async function loadLayersModel(
  tf: Tf,
  files: Record<string, Uint8Array>,
): Promise<{ model: LayersModel; metadata: Record<string, unknown> }> {
  const jsonBytes = files['model.json']
  const weights = files['weights.bin']
  if (jsonBytes === undefined || weights === undefined) {
    throw new AirlakeError('BAD_REQUEST', 'a tfjs-layers artifact needs model.json and weights.bin')
  }
  let json: {
    modelTopology?: unknown
    weightsManifest?: Array<{ weights?: unknown[] }>
    userDefinedMetadata?: Record<string, unknown>
  }
  try {
    json = JSON.parse(new TextDecoder().decode(jsonBytes))
  } catch (error) {
    throw new AirlakeError('BAD_REQUEST', 'the tfjs-layers artifact has an unreadable model.json', {
      cause: error,
    })
  }
  const weightSpecs = (json.weightsManifest ?? []).flatMap((group) => group.weights ?? [])
  if (json.modelTopology === undefined || json.userDefinedMetadata === undefined) {
    throw new AirlakeError(
      'BAD_REQUEST',
      'the tfjs-layers artifact model.json lacks its topology or airlake metadata; retrain the model',
    )
  }
  // A copy into a fresh ArrayBuffer: the artifact's bytes may be a view on a larger buffer (a pooled
  // Buffer from the lake, whose slice() would still share that buffer).
  const weightData = new Uint8Array(weights).buffer
  try {
    const model = await tf.loadLayersModel(
      tf.io.fromMemory({
        modelTopology: json.modelTopology as object,
        weightSpecs: weightSpecs as never,
        weightData,
      }),
    )
    return { model, metadata: json.userDefinedMetadata }
  } catch (error) {
    throw new AirlakeError(
      'BAD_REQUEST',
      `the tfjs-layers artifact does not load: ${error instanceof Error ? error.message : String(error)}`,
      {
        cause: error,
      },
    )
  }
}
