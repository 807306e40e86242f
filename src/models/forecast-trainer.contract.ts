/**
 * The behaviour every forecasting trainer promises (src/core/model.ts), written once and run against
 * each implementation by swapping only the trainer: it fits the seasonal test task, forecasts n × H
 * finite values, beats persistence when it should, reloads from its artifact to bit-identical forecasts,
 * gives the same forecasts for the same seed, and refuses windows of the wrong length.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { isAirlakeError } from '../core/errors.js'
import type { FitOptions, ForecastModel, ForecastTrainer, TrainingBatch } from '../core/model.js'
import { PersistenceTrainer } from './persistence.js'
import { meanAbsoluteError, seasonalTask } from './testing.js'

export interface TrainerContractOptions {
  /** Hyper-parameters passed to every fit (keep them small so the suite takes seconds). */
  params?: Record<string, unknown>
  /** Test MAE must be at most this multiple of persistence's; omit for baselines. */
  maxRatioToPersistence?: number
  /** Whether the trainer uses the validation windows (early stopping). */
  useValidation?: boolean
  /** Skip everything with this reason (e.g. a native library that is not installed). */
  skip?: string | undefined
}

/** Registers the contract tests for `trainer` under a `describe` named after its algorithm. */
export function forecastTrainerContract(
  trainer: ForecastTrainer,
  options: TrainerContractOptions = {},
): void {
  describe(`${trainer.algorithm} forecast trainer contract`, { skip: options.skip }, () => {
    const task = seasonalTask()
    const { signature, train, validation, test: testSet } = task
    const fitOptions = (seed: number): FitOptions => ({
      signature,
      seed,
      params: options.params,
      validation: options.useValidation === false ? undefined : validation,
    })
    let model: ForecastModel
    let forecasts: Float64Array
    const progress: number[] = []

    before(async () => {
      model = await trainer.fit(train, {
        ...fitOptions(42),
        onProgress: (fraction) => progress.push(fraction),
      })
      forecasts = await model.predict(testSet)
    })
    after(() => model?.dispose())

    test('is available here', () => {
      assert.deepEqual(trainer.available(), { ok: true })
    })

    test('forecasts n × H finite values and reports progress up to 1', () => {
      assert.equal(model.algorithm, trainer.algorithm)
      assert.deepEqual(model.signature, signature)
      assert.equal(forecasts.length, testSet.n * signature.horizon)
      assert.ok(forecasts.every(Number.isFinite))
      assert.ok(progress.length > 0 && progress.at(-1) === 1, `progress ${progress.join(', ')}`)
    })

    if (options.maxRatioToPersistence !== undefined) {
      const limit = options.maxRatioToPersistence
      test(`beats persistence on held-out windows (MAE ratio <= ${limit})`, async () => {
        const persistence = await new PersistenceTrainer().fit(train, fitOptions(42))
        const baseline = meanAbsoluteError(testSet.targets, await persistence.predict(testSet))
        const mae = meanAbsoluteError(testSet.targets, forecasts)
        assert.ok(
          mae <= limit * baseline,
          `${trainer.algorithm} MAE ${mae.toFixed(3)} vs persistence ${baseline.toFixed(3)}`,
        )
      })
    }

    test('reloads from its artifact to identical forecasts', async () => {
      const artifact = await model.save()
      assert.equal(artifact.algorithm, trainer.algorithm)
      assert.deepEqual(artifact.signature, signature)
      assert.ok(artifact.files['model.json'] instanceof Uint8Array)
      const copy = structuredClone(artifact)
      const reloaded = await trainer.load(copy)
      try {
        assert.deepEqual(await reloaded.predict(testSet), forecasts)
        assert.deepEqual(
          await reloaded.predict({ n: 1, windows: testSet.windows.subarray(0, signature.window) }),
          await model.predict({ n: 1, windows: testSet.windows.subarray(0, signature.window) }),
        )
      } finally {
        reloaded.dispose()
      }
    })

    test('the same seed gives the same model', async () => {
      const again = await trainer.fit(train, fitOptions(42))
      try {
        assert.deepEqual(await again.predict(testSet), forecasts)
      } finally {
        again.dispose()
      }
    })

    test('refuses windows of the wrong length with SIGNATURE_MISMATCH', async () => {
      const L = signature.window
      const short: TrainingBatch = {
        n: 2,
        windows: testSet.windows.slice(0, 2 * (L - 1)),
        targets: testSet.targets.slice(0, 2 * signature.horizon),
      }
      await assert.rejects(
        model.predict(short),
        (error) => isAirlakeError(error, 'SIGNATURE_MISMATCH') && /expects windows of 48/.test(error.message),
      )
      await assert.rejects(trainer.fit(short, fitOptions(1)), (error) =>
        isAirlakeError(error, 'SIGNATURE_MISMATCH'),
      )
    })

    test('refuses an artifact of another kind with BAD_REQUEST', async () => {
      const artifact = await model.save()
      await assert.rejects(trainer.load({ ...artifact, algorithm: 'other' }), (error) =>
        isAirlakeError(error, 'BAD_REQUEST'),
      )
    })
  })
}
