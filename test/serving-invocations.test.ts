import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { syntheticIaq } from './helpers/forecast-data.js'
import {
  fitIaqModel,
  openServingRuntime,
  registerIaqModel,
  type ServingRuntime,
} from './helpers/serving-runtime.js'

/** A window of the synthetic series ending at minute `end`. */
function window(end: number, length = 60): number[] {
  return Array.from({ length }, (_, i) => syntheticIaq(end - length + 1 + i))
}

describe('POST /invocations on the real runtime', () => {
  let s: ServingRuntime
  const name = 'dev1.iaq.ridge'

  before(async () => {
    s = await openServingRuntime()
  })
  after(async () => {
    await s?.close()
  })

  it('says how to get a model when none holds the serving alias', async () => {
    const answer = await s.call('POST', '/invocations', { instances: [window(0)] })
    assert.equal(answer.status, 404)
    assert.equal(answer.body.error.code, 'MODEL_NOT_FOUND')
    assert.match(answer.body.error.message, /champion/)
  })

  it('scores many windows in each accepted format with the champion, like a bare predict', async () => {
    const model = await fitIaqModel(s.runtime)
    await registerIaqModel(s.runtime, { name, model, alias: 'champion' })
    const windows = [window(0), window(10), window(20)]
    const bare = await model.predict({ n: 3, windows: Float64Array.from(windows.flat()) })
    const expected = [0, 1, 2].map((i) => Array.from(bare.subarray(i * 15, (i + 1) * 15)))

    const instances = await s.call('POST', '/invocations', { instances: windows })
    assert.equal(instances.status, 200, JSON.stringify(instances.body))
    assert.equal(instances.headers.get('x-model-version'), `${name}@1`)
    assert.equal(instances.body.predictions.length, 3)
    for (const [i, row] of (instances.body.predictions as number[][]).entries()) {
      assert.equal(row.length, 15)
      for (const [h, value] of row.entries()) assert.ok(Math.abs(value - expected[i]![h]!) < 1e-9)
    }
    // The forecast follows the series: a good model is within a few points of the truth one step ahead.
    assert.ok(Math.abs(instances.body.predictions[0][0] - syntheticIaq(1)) < 5)

    const inputs = await s.call('POST', `/invocations?model=${name}@champion`, { inputs: windows })
    assert.deepEqual(inputs.body, instances.body)
    const columns = Array.from({ length: 60 }, (_, i) => `v${i}`)
    const split = await s.call('POST', `/invocations?model=${name}@1`, {
      dataframe_split: { columns, data: windows },
    })
    assert.equal(split.status, 200)
    assert.deepEqual(split.body, instances.body)
  })

  it('answers 400 saying what the signature expects', async () => {
    const short = await s.call('POST', '/invocations', { instances: [window(0, 59)] })
    assert.equal(short.status, 400)
    assert.equal(short.body.error.code, 'SIGNATURE_MISMATCH')
    assert.match(short.body.error.message, /expected 60 values per instance/)
    assert.match(short.body.error.message, /iaq on a 1-minute grid/)
    assert.equal(short.body.error.details.expected.window, 60)

    const text = await s.call('POST', '/invocations', { instances: [[...window(0, 59), 'high']] })
    assert.equal(text.status, 400)
    assert.match(text.body.error.message, /instances\[0\]\[59\] must be a finite number/)

    const flat = await s.call('POST', '/invocations', { instances: window(0) })
    assert.equal(flat.status, 400)
    assert.match(flat.body.error.message, /wrap one window in a list/)

    const none = await s.call('POST', '/invocations', { rows: [window(0)] })
    assert.equal(none.status, 400)
    assert.match(none.body.error.message, /"instances", "inputs", "dataframe_split"/)

    const both = await s.call('POST', '/invocations', { instances: [window(0)], inputs: [window(0)] })
    assert.equal(both.status, 400)

    const broken = await s.call('POST', '/invocations', '{"instances": [[1,2')
    assert.equal(broken.status, 400)

    const badRef = await s.call('POST', '/invocations?model=no%20such', { instances: [window(0)] })
    assert.equal(badRef.status, 400)
    const unknown = await s.call('POST', '/invocations?model=other.iaq.ridge', { instances: [window(0)] })
    assert.equal(unknown.status, 404)
    assert.equal(unknown.body.error.code, 'MODEL_NOT_FOUND')
    const noVersion = await s.call('POST', `/invocations?model=${name}@9`, { instances: [window(0)] })
    assert.equal(noVersion.status, 404)
  })

  it('needs the API key and is documented in /openapi.json', async () => {
    const anonymous = await fetch(`${s.runtime.url}/invocations`, {
      method: 'POST',
      body: '{}',
      headers: { 'content-type': 'application/json' },
    })
    assert.equal(anonymous.status, 401)
    const doc = (await (await fetch(`${s.runtime.url}/openapi.json`)).json()) as {
      paths: Record<string, unknown>
    }
    assert.ok(doc.paths['/invocations'])
  })

  it('keeps the model loaded and serves the new version when the alias moves', async () => {
    assert.deepEqual(s.runtime.serving.loadedModels(), [`${name}@1`])
    const before = await s.call('POST', '/invocations', { instances: [window(0)] })
    const biased = await fitIaqModel(s.runtime, { bias: 30 })
    const v2 = await registerIaqModel(s.runtime, { name, model: biased, alias: 'champion' })
    assert.equal(v2.version, 2)
    const moved = await s.call('POST', '/invocations', { instances: [window(0)] })
    assert.equal(moved.status, 200)
    assert.equal(moved.headers.get('x-model-version'), `${name}@2`)
    assert.ok(moved.body.predictions[0][0] - before.body.predictions[0][0] > 20, 'the biased version answers')
    // The old version is unloaded once no alias points at it, and reloads when asked for by number.
    assert.deepEqual(s.runtime.serving.loadedModels(), [`${name}@2`])
    const old = await s.call('POST', `/invocations?model=${name}@1`, { instances: [window(0)] })
    assert.deepEqual(old.body, before.body)
  })
})
