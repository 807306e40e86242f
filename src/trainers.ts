/**
 * The forecasting model kinds this build offers, by the names the command line uses
 * (`persistence, seasonal-naive, ridge, xgboost, mlp, lstm`, and `ensemble`, the mean of xgboost and
 * mlp), plus `onnx`, the loader of ONNX models
 * registered from elsewhere; and the tabular classifiers (`logistic`, `xgboost`). Part of the composition
 * root: the only place that names the model adapters.
 * Native and heavy libraries (libxgboost, TensorFlow.js, onnxruntime) load on first use, not here.
 */
import { OnnxForecastLoader } from './adapters/onnx/onnx-model.js'
import { TfjsForecastTrainer } from './adapters/tfjs/tfjs-forecast-trainer.js'
import { XgboostClassificationTrainer } from './adapters/xgboost/xgboost-classification-trainer.js'
import { XgboostForecastTrainer } from './adapters/xgboost/xgboost-forecast-trainer.js'
import type { ClassificationTrainer, ForecastTrainer } from './core/model.js'
import type { Logger } from './core/ports/logger.js'
import { EnsembleTrainer } from './models/ensemble.js'
import { LogisticTrainer } from './models/logistic.js'
import { PersistenceTrainer } from './models/persistence.js'
import { RidgeTrainer } from './models/ridge.js'
import { SeasonalNaiveTrainer } from './models/seasonal-naive.js'

/** Every forecasting trainer by algorithm name. Kinds that cannot run here say why in `available()`. */
export async function forecastTrainers(logger: Logger): Promise<Record<string, ForecastTrainer>> {
  const trainers: ForecastTrainer[] = [
    new PersistenceTrainer(),
    new SeasonalNaiveTrainer(),
    new RidgeTrainer(),
    new XgboostForecastTrainer(),
    new TfjsForecastTrainer('mlp', logger.child({ model: 'mlp' })),
    new TfjsForecastTrainer('lstm', logger.child({ model: 'lstm' })),
    new OnnxForecastLoader(),
  ]
  const byName: Record<string, ForecastTrainer> = Object.fromEntries(
    trainers.map((trainer) => [trainer.algorithm, trainer]),
  )
  byName.ensemble = new EnsembleTrainer(byName)
  return byName
}

/** Every tabular classification trainer by algorithm name (seed 001's loan approval task). */
export function classificationTrainers(): Record<string, ClassificationTrainer> {
  const trainers: ClassificationTrainer[] = [new LogisticTrainer(), new XgboostClassificationTrainer()]
  return Object.fromEntries(trainers.map((trainer) => [trainer.algorithm, trainer]))
}
