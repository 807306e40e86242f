/**
 * Store retention (seed 002 kept 30 days on disk): deletes readings, predictions and shadow forecasts
 * older than N days from the time-series store. The lake is never touched: bronze and silver keep
 * everything, so a deleted day can be reloaded from there.
 */
import { AirlakeError, wrapError } from '../core/errors.js'
import type { Clock } from '../core/ports/clock.js'
import type { Logger } from '../core/ports/logger.js'
import type { Store } from '../core/ports/store.js'
import { DAY_MS, type TimeMs } from '../core/time.js'

export interface RetentionReport {
  /** Rows strictly older than this were deleted (ms). */
  before: TimeMs
  readings: number
  predictions: number
  shadowForecasts: number
}

/**
 * Deletes store rows older than `days` days before now (readings by reading time, predictions and
 * shadow forecasts by the time they predict). Idempotent; `days` must be a positive whole number
 * (PARAMETER_INVALID otherwise; a configured 0 means "keep forever" and should not schedule this).
 * Throws STORE_UNAVAILABLE when a delete fails, saying which table.
 */
export async function applyRetention(
  deps: {
    store: Pick<Store, 'deleteReadingsBefore' | 'deletePredictionsBefore' | 'deleteShadowForecastsBefore'>
    clock: Clock
    logger: Logger
  },
  input: { days: number },
): Promise<RetentionReport> {
  if (!Number.isInteger(input.days) || input.days < 1) {
    throw new AirlakeError(
      'PARAMETER_INVALID',
      `retention must be a whole number of days from 1, got ${input.days}`,
    )
  }
  const before = deps.clock.now() - input.days * DAY_MS
  const step = async (what: string, run: () => Promise<number>): Promise<number> => {
    try {
      return await run()
    } catch (error) {
      throw wrapError(
        error,
        'STORE_UNAVAILABLE',
        `retention could not delete ${what} older than ${new Date(before).toISOString()}`,
      )
    }
  }
  const readings = await step('readings', () => deps.store.deleteReadingsBefore(before))
  const predictions = await step('predictions', () => deps.store.deletePredictionsBefore(before))
  const shadowForecasts = await step('shadow forecasts', () => deps.store.deleteShadowForecastsBefore(before))
  const report = { before, readings, predictions, shadowForecasts }
  deps.logger.info('retention applied', {
    days: input.days,
    ...report,
    before: new Date(before).toISOString(),
  })
  return report
}
