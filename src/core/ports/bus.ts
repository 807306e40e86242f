/**
 * The event bus between ingestion, forecasting, the scheduler and the dashboard's live feed.
 * Implementations: InProcessBus (`src/adapters/in-process`), NatsBus (`src/adapters/nats`, JetStream).
 * Delivery is at-least-once across processes; handlers must be idempotent (store writes are upserts).
 */
import type { TimeMs } from '../time.js'
import type { Prediction, Reading } from '../types.js'

/** What travels on each topic. */
export interface BusTopics {
  /** Rows just committed to the store (any source). */
  'readings.stored': { source: string; readings: readonly Reading[] }
  /** Forecast rows just written. */
  'predictions.written': {
    deviceId: string
    measure: string
    modelVersion: string
    predictions: Prediction[]
  }
  /** A pipeline run changed state (id and status; fetch the rest from the store). */
  'runs.updated': { runId: string; kind: string; status: string }
  /** A device seen for the first time. */
  'devices.new': { deviceId: string; source: string; firstSeen: TimeMs }
  /** Registry changed: a version registered or an alias moved. */
  'models.changed': { model: string; version?: number; alias?: string }
  /** The bandit chose or was rewarded. */
  'selection.updated': { selector: string; arm: string; kind: string }
}

export type BusTopic = keyof BusTopics

export type BusHandler<T extends BusTopic> = (message: BusTopics[T]) => void | Promise<void>

export interface SubscribeOptions {
  /**
   * Work-queue group: across processes, each message goes to one member of the group (forecasting
   * workers). Without a group every subscriber sees every message (dashboards).
   */
  group?: string
}

export interface Bus {
  /** `in-process` or `nats`. */
  readonly kind: string
  /** Publishes; resolves when the bus has accepted the message (JetStream: stored). */
  publish<T extends BusTopic>(topic: T, message: BusTopics[T]): Promise<void>
  /** Calls `handler` for each message; returns an unsubscribe function. Handler errors are logged, never thrown back to publishers. */
  subscribe<T extends BusTopic>(topic: T, handler: BusHandler<T>, options?: SubscribeOptions): () => void
  /** Resolves when every message published so far has been handled (in-process) or acknowledged. */
  drain(): Promise<void>
  close(): Promise<void>
}
