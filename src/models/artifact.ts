/** Reading and writing the `model.json` file of pure-TypeScript model artifacts. */
import { AirlakeError } from '../core/errors.js'
import type { ModelArtifact } from '../core/model.js'

/** UTF-8 JSON bytes of a value. */
export function jsonFile(value: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value))
}

/**
 * The parsed `model.json` of an artifact, checking its algorithm and format; throws BAD_REQUEST when the
 * artifact is of another kind or unreadable.
 */
export function readModelJson(
  artifact: ModelArtifact,
  algorithm: string,
  format: string,
): Record<string, unknown> {
  if (artifact.algorithm !== algorithm || artifact.format !== format) {
    throw new AirlakeError(
      'BAD_REQUEST',
      `this is a ${artifact.algorithm} artifact in format ${artifact.format}; the ${algorithm} loader reads ${format}`,
    )
  }
  const bytes = artifact.files['model.json']
  if (bytes === undefined)
    throw new AirlakeError('BAD_REQUEST', `the ${algorithm} artifact has no model.json`)
  try {
    return JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>
  } catch (error) {
    throw new AirlakeError('BAD_REQUEST', `the ${algorithm} artifact's model.json is not valid JSON`, {
      cause: error,
    })
  }
}

/** Throws BAD_REQUEST unless the artifact's signature is a forecast signature. */
export function forecastSignatureOf(artifact: ModelArtifact) {
  if (artifact.signature.task !== 'forecast') {
    throw new AirlakeError('BAD_REQUEST', `the ${artifact.algorithm} artifact is not a forecasting model`)
  }
  return artifact.signature
}
