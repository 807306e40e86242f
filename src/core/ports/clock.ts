/** Where "now" comes from; tests inject a fixed or stepping clock. */
import type { TimeMs } from '../time.js'

export interface Clock {
  now(): TimeMs
}

export const systemClock: Clock = { now: () => Date.now() }

/** A clock tests can set and advance. */
export class ManualClock implements Clock {
  constructor(private time: TimeMs) {}
  now(): TimeMs {
    return this.time
  }
  set(time: TimeMs): void {
    this.time = time
  }
  advance(ms: number): void {
    this.time += ms
  }
}
