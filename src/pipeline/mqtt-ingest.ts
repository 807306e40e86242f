/**
 * Device readings over MQTT into the one ingestion path (source `mqtt`). A payload is a vendor reading,
 * a long row, a JSON array of them or NDJSON; the device is the topic's `+` (a long row without a device
 * takes it; a vendor reading's `devid` must match it). The message is acknowledged when this resolves,
 * i.e. after bronze and the store have it. Exact repeats (a broker's redelivery) are skipped; anything
 * else that repeats is a harmless upsert.
 */
import { createHash } from 'node:crypto'
import { AirlakeError } from '../core/errors.js'
import {
  type IngestDeps,
  type IngestRecord,
  ingestJsonItems,
  ingestRecords,
  jsonItemsFromText,
} from './ingest.js'
import type { MqttMessage, MqttSubscribe, MqttSubscription } from './source-adapters.js'

export interface MqttIngestStats {
  messages: number
  /** Exact repeats of a recent message (same topic and payload), skipped. */
  duplicates: number
  /** Records (JSON items) received, stored (with at least one reading) and rejected. */
  received: number
  accepted: number
  rejected: number
  stored: number
}

const REMEMBERED = 10_000
const MAX_PAYLOAD_BYTES = 1024 * 1024

/**
 * Handles MQTT messages: returns the handler to give the subscriber and live counters. Throws only when
 * storage fails (so the message is not acknowledged and comes again).
 */
export function mqttMessageHandler(
  deps: IngestDeps,
  options: { source?: string | undefined } = {},
): { handle(message: MqttMessage): Promise<void>; stats: MqttIngestStats } {
  const source = options.source ?? 'mqtt'
  const stats: MqttIngestStats = {
    messages: 0,
    duplicates: 0,
    received: 0,
    accepted: 0,
    rejected: 0,
    stored: 0,
  }
  const recent = new Set<string>()

  async function handle(message: MqttMessage): Promise<void> {
    stats.messages++
    const key = createHash('sha1')
      .update(message.topic)
      .update('\u0000')
      .update(message.payload)
      .digest('base64')
    if (recent.has(key)) {
      stats.duplicates++
      return
    }
    const text = message.payload.toString('utf8')
    const meta = { topic: message.topic }
    const errors: IngestRecord[] = []
    const items: Array<{ raw: string; body: unknown }> = []
    if (message.payload.length > MAX_PAYLOAD_BYTES) {
      errors.push({
        raw: text.slice(0, 4096),
        error: new AirlakeError(
          'PAYLOAD_TOO_LARGE',
          `the MQTT payload is ${message.payload.length} bytes, above ${MAX_PAYLOAD_BYTES}: send smaller batches`,
        ),
        meta,
      })
    } else if (text.trim() === '') {
      errors.push({
        raw: text,
        error: new AirlakeError('READING_INVALID', 'the MQTT payload is empty: send a JSON reading'),
        meta,
      })
    } else {
      for (const item of jsonItemsFromText(text)) {
        if ('error' in item) errors.push({ raw: item.raw, error: item.error, meta })
        else items.push(item)
      }
    }
    if (message.deviceId === undefined && items.length > 0) {
      deps.logger.debug('MQTT topic without a device part', { topic: message.topic })
    }
    const reports = []
    if (items.length > 0) {
      reports.push(
        await ingestJsonItems(deps, {
          source,
          items,
          ...(message.deviceId === undefined ? {} : { deviceHint: message.deviceId }),
        }),
      )
    }
    if (errors.length > 0) reports.push(await ingestRecords(deps, { source, records: errors }))
    for (const report of reports) {
      stats.received += report.received
      stats.accepted += report.accepted
      stats.rejected += report.rejected
      stats.stored += report.stored
    }
    recent.add(key)
    if (recent.size > REMEMBERED) recent.delete(recent.values().next().value as string)
  }

  return { handle, stats }
}

/** Subscribes and ingests until the returned subscription is closed. */
export async function startMqttIngest(
  deps: IngestDeps,
  input: { subscribe: MqttSubscribe; source?: string | undefined },
): Promise<MqttSubscription & { stats: MqttIngestStats }> {
  const { handle, stats } = mqttMessageHandler(deps, { source: input.source })
  const subscription = await input.subscribe(handle)
  return { stats, close: () => subscription.close() }
}
