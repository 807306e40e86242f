import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { isAirlakeError } from '../../core/errors.js'
import type { ForecastSignature, ModelArtifact } from '../../core/model.js'
import { OnnxForecastLoader } from './onnx-model.js'

/** Protocol-buffer encoding, just enough of it to write an ONNX ModelProto by hand. */
function varint(value: number): number[] {
  const out: number[] = []
  let v = value
  while (v > 127) {
    out.push((v & 127) | 128)
    v = Math.floor(v / 128)
  }
  out.push(v)
  return out
}
const field = (number: number, wire: number) => varint(number * 8 + wire)
const int = (number: number, value: number) => [...field(number, 0), ...varint(value)]
const bytes = (number: number, payload: number[]) => [
  ...field(number, 2),
  ...varint(payload.length),
  ...payload,
]
const text = (number: number, value: string) => bytes(number, [...new TextEncoder().encode(value)])
const floats = (number: number, values: number[]) =>
  bytes(number, [...new Uint8Array(Float32Array.from(values).buffer)])

/** A float tensor input/output `name` of shape [batch, width] (the batch symbolic). */
function valueInfo(name: string, width: number): number[] {
  const shape = [...bytes(1, text(2, 'batch')), ...bytes(1, int(1, width))]
  const tensorType = [...int(1, 1), ...bytes(2, shape)]
  return [...text(1, name), ...bytes(2, bytes(1, tensorType))]
}

function initializer(name: string, dims: number[], values: number[]): number[] {
  return [...dims.flatMap((d) => int(1, d)), ...int(2, 1), ...floats(4, values), ...text(8, name)]
}

function node(op: string, inputs: string[], output: string): number[] {
  return [
    ...inputs.flatMap((i) => text(1, i)),
    ...text(2, output),
    ...text(3, `${op.toLowerCase()}_node`),
    ...text(4, op),
  ]
}

/** y = x · W + b as an ONNX model (opset 13): x is n × L, W is L × H, b is H. */
function linearOnnx(weights: number[][], bias: number[]): Uint8Array {
  const L = weights.length
  const H = bias.length
  const graph = [
    ...bytes(1, node('MatMul', ['x', 'W'], 'xw')),
    ...bytes(1, node('Add', ['xw', 'b'], 'y')),
    ...text(2, 'linear'),
    ...bytes(5, initializer('W', [L, H], weights.flat())),
    ...bytes(5, initializer('b', [H], bias)),
    ...bytes(11, valueInfo('x', L)),
    ...bytes(12, valueInfo('y', H)),
  ]
  const model = [
    ...int(1, 8),
    ...text(2, 'airlake-test'),
    ...bytes(7, graph),
    ...bytes(8, [...text(1, ''), ...int(2, 13)]),
  ]
  return Uint8Array.from(model)
}

const signature: ForecastSignature = {
  task: 'forecast',
  measure: 'iaq',
  window: 4,
  horizon: 2,
  stepMs: 60_000,
}
// Output 1 is the window's mean, output 2 its last value plus one.
const onnxFile = linearOnnx(
  [
    [0.25, 0],
    [0.25, 0],
    [0.25, 0],
    [0.25, 1],
  ],
  [0, 1],
)
const artifact = (
  files: Record<string, Uint8Array> = { 'model.onnx': onnxFile },
  s: ForecastSignature = signature,
): ModelArtifact => ({
  algorithm: 'onnx',
  format: 'onnx',
  signature: s,
  files,
  params: {},
})

const loader = new OnnxForecastLoader()
const availability = loader.available()
// The native binding ships inside onnxruntime-node for linux-x64; elsewhere skip locally with the reason, fail in CI.
const skip = !availability.ok && process.env.CI !== 'true' ? availability.reason : undefined

describe('onnx forecast loader', { skip }, () => {
  test('is available with its native binding', () => {
    assert.deepEqual(availability, { ok: true })
  })

  test('scores n × L float32 windows into n × H forecasts', async () => {
    const model = await loader.load(artifact())
    try {
      const out = await model.predict({ n: 2, windows: Float64Array.from([1, 2, 3, 4, 10, 10, 10, 30]) })
      assert.deepEqual([...out], [2.5, 5, 15, 31])
    } finally {
      model.dispose()
    }
  })

  test('saves the same ONNX bytes and reloads to identical forecasts', async () => {
    const model = await loader.load(artifact())
    const windows = Float64Array.from({ length: 40 }, (_, i) => Math.sin(i) * 100)
    const saved = await model.save()
    assert.deepEqual(saved.files['model.onnx'], onnxFile)
    const reloaded = await loader.load(structuredClone(saved))
    assert.deepEqual(await reloaded.predict({ n: 10, windows }), await model.predict({ n: 10, windows }))
    model.dispose()
    reloaded.dispose()
  })

  test('refuses windows of the wrong length with SIGNATURE_MISMATCH', async () => {
    const model = await loader.load(artifact())
    await assert.rejects(model.predict({ n: 1, windows: new Float64Array(3) }), (error) =>
      isAirlakeError(error, 'SIGNATURE_MISMATCH'),
    )
    model.dispose()
  })

  test('refuses a graph whose width differs from the signature with SIGNATURE_MISMATCH', async () => {
    await assert.rejects(
      loader.load(artifact(undefined, { ...signature, window: 5 })),
      (error) =>
        isAirlakeError(error, 'SIGNATURE_MISMATCH') &&
        /input takes 4 values per row, the window is 5/.test(error.message),
    )
    await assert.rejects(
      loader.load(artifact(undefined, { ...signature, horizon: 3 })),
      (error) =>
        isAirlakeError(error, 'SIGNATURE_MISMATCH') &&
        /output gives 2 values per row, the horizon is 3/.test(error.message),
    )
  })

  test('refuses a file that is not ONNX with BAD_REQUEST', async () => {
    await assert.rejects(
      loader.load(artifact({ 'model.onnx': new TextEncoder().encode('not a model') })),
      (error) => isAirlakeError(error, 'BAD_REQUEST'),
    )
    await assert.rejects(
      loader.load(artifact({})),
      (error) => isAirlakeError(error, 'BAD_REQUEST') && /no model.onnx/.test(error.message),
    )
  })
})

test('onnx models are not trained here: fit says how to register one', async () => {
  await assert.rejects(
    loader.fit({ n: 0, windows: new Float64Array(0), targets: new Float64Array(0) }),
    (error) =>
      isAirlakeError(error, 'PARAMETER_INVALID') &&
      /trained elsewhere; register with `airlake models register-onnx`/.test(error.message),
  )
})
