/**
 * What the training, registry and run commands need from the app: the store, lake, bus, clock, logger
 * and the forecasting trainers the composition root picked (src/app.ts).
 */
import type { App } from '../../app.js'
import { AirlakeError } from '../../core/errors.js'
import type { TrainingDeps } from '../../pipeline/train.js'

/** The app's training dependencies; throws DEPENDENCY_MISSING when this build wires no trainers. */
export function trainingDeps(app: App): TrainingDeps {
  const { trainers } = app
  if (trainers === undefined || Object.keys(trainers).length === 0) {
    throw new AirlakeError(
      'DEPENDENCY_MISSING',
      'this build of airlake has no forecasting trainers wired (App.trainers): reinstall airlake',
    )
  }
  return { store: app.store, lake: app.lake, bus: app.bus, clock: app.clock, logger: app.logger, trainers }
}

/** `time` as ISO 8601 without milliseconds, or `-`. */
export function isoTime(time: number | undefined): string {
  return time === undefined || !Number.isFinite(time)
    ? '-'
    : new Date(time).toISOString().replace('.000Z', 'Z')
}

/** Writes rows as an aligned text table on stdout. */
export function printTable(rows: string[][]): void {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length)))
  for (const row of rows)
    process.stdout.write(
      `${row
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd()}\n`,
    )
}

/** A metric with 4 significant digits, or `-`. */
export function metric(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? '-' : Number(value.toPrecision(4)).toString()
}
