/**
 * The forecasting model kinds this build offers, by the names the command line uses
 * (`persistence, seasonal-naive, ridge, xgboost, mlp, lstm`), plus ONNX models registered from elsewhere.
 * Part of the composition root: the only place that names the model adapters.
 */
import { XgboostForecastTrainer } from './adapters/xgboost/xgboost-forecast-trainer.js'
import type { ForecastTrainer } from './core/model.js'
import type { Logger } from './core/ports/logger.js'
import { RidgeTrainer } from './models/ridge.js'

/** Every forecasting trainer by algorithm name. Kinds that cannot run here say why in `available()`. */
export async function forecastTrainers(_logger: Logger): Promise<Record<string, ForecastTrainer>> {
  const trainers: ForecastTrainer[] = [new RidgeTrainer(), new XgboostForecastTrainer()]
  return Object.fromEntries(trainers.map((trainer) => [trainer.algorithm, trainer]))
}
