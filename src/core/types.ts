/**
 * The domain model (DESIGN.md section 2). Times are UTC epoch milliseconds; see docs/glossary.md for words.
 */
import type { TimeMs } from './time.js'

/** One stored measurement: unique on (deviceId, measure, time); a repeat replaces the value. */
export interface Reading {
  time: TimeMs
  deviceId: string
  measure: string
  value: number
  /** Where it came from: `http`, `mqtt`, `vendor`, `openaq`, `file:<name>`, … */
  source: string
}

/** One forecast value: the `measureName` `iaq~5` at `time` is the IAQ for `time` predicted 5 steps earlier. */
export interface Prediction {
  time: TimeMs
  deviceId: string
  measureName: string
  value: number
  /** `<model>@<version>` of the model whose forecast this is. */
  modelVersion: string
  issuedAt: TimeMs
}

export interface Device {
  id: string
  name?: string | undefined
  source: string
  location?: string | undefined
  firstSeen: TimeMs
  lastSeen: TimeMs
}

/** An input that could not be stored, kept with its raw payload and the reason. */
export interface Rejection {
  receivedAt: TimeMs
  source: string
  reason: string
  /** Error code (e.g. `READING_INVALID`). */
  code: string
  /** The raw payload, as text, exactly as received (or the file row). */
  payload: string
}

export interface StoredRejection extends Rejection {
  id: number
}

/** An API key as stored: only the SHA-256 hash of the secret is kept. */
export interface ApiKeyRecord {
  id: string
  name: string
  /** hex SHA-256 of the whole key. */
  hash: string
  createdAt: TimeMs
  revokedAt?: TimeMs | undefined
  lastUsedAt?: TimeMs | undefined
}

/** What a bulk write did. */
export interface WriteReport {
  /** Rows written (inserted or replaced). */
  stored: number
}

/** The seed's six indoor measures, in the order the vendor's `readings[1..6]` carry them. */
export const VENDOR_MEASURES = ['temperature', 'humidity', 'pressure', 'iaq', 'co2', 'voc'] as const
export type VendorMeasure = (typeof VENDOR_MEASURES)[number]
