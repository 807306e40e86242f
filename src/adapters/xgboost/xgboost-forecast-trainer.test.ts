import { forecastTrainerContract } from '../../models/forecast-trainer.contract.js'
import { XgboostForecastTrainer } from './xgboost-forecast-trainer.js'

const trainer = new XgboostForecastTrainer({ nthread: 1 })
const availability = trainer.available()
// Locally a missing libxgboost skips with the reason; CI installs libxgboost0 and must run these.
const skip = !availability.ok && process.env.CI !== 'true' ? availability.reason : undefined

forecastTrainerContract(trainer, { maxRatioToPersistence: 0.8, params: { rounds: 150, maxDepth: 4 }, skip })
