/**
 * Subscribes to device readings over MQTT (`MQTT_URL`, `MQTT_TOPIC`) with QoS 1 and a persistent session
 * (`clean: false`, a stable client id), so the broker keeps messages for airlake while it is away and
 * redelivers what was not acknowledged. A message is acknowledged only after its handler resolves (the
 * client's `handleMessage` hook, which also delivers one message at a time); a handler that fails is
 * retried with backoff, so a storage outage delays acknowledgements instead of losing messages. The client
 * reconnects on its own and subscribes again when the broker comes back without the session.
 */
import { hostname } from 'node:os'
import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt'
import { AirlakeError, wrapError } from '../../core/errors.js'
import type { Logger } from '../../core/ports/logger.js'
import { silentLogger } from '../../core/ports/logger.js'

export interface MqttSubscriberOptions {
  /** `mqtt://host:1883` (also `mqtts:`, `ws:`, `wss:`); credentials may sit in the URL. */
  url: string
  /** Topic filter with one `+` where the device id stands; `airlake/+/readings` by default. */
  topic?: string | undefined
  /**
   * The session's client id: keep it stable so the broker recognises airlake after a restart. Default
   * `airlake-<hostname>`; give each process its own when several subscribe.
   */
  clientId?: string | undefined
  /** Wait between reconnection attempts; 1 s by default. */
  reconnectPeriodMs?: number | undefined
  connectTimeoutMs?: number | undefined
  logger?: Logger | undefined
  /** Told of connection changes (for /readyz and tests). */
  onStatus?:
    | ((status: 'connected' | 'offline' | 'reconnecting' | 'closed', detail?: string) => void)
    | undefined
}

export interface MqttSubscriberMessage {
  topic: string
  deviceId: string | undefined
  payload: Buffer
}

export interface MqttSubscriberHandle {
  /** Whether the client is connected now. */
  readonly connected: boolean
  /** Forces the connection closed as a network failure would; the client reconnects by itself. */
  dropConnection(): void
  /** Stops: unacknowledged messages stay with the broker for the next start. */
  close(): Promise<void>
}

export const DEFAULT_MQTT_TOPIC = 'airlake/+/readings'

/**
 * The device id in `topic` at the `+` of `filter`, or undefined when the topic does not match the filter
 * or the filter has no `+`. `deviceFromTopic('airlake/+/readings', 'airlake/dev-1/readings') === 'dev-1'`.
 */
export function deviceFromTopic(filter: string, topic: string): string | undefined {
  const wanted = filter.split('/')
  const got = topic.split('/')
  let device: string | undefined
  for (let i = 0; i < wanted.length; i++) {
    const part = wanted[i]
    if (part === '#') return device
    if (i >= got.length) return undefined
    if (part === '+') {
      if (device === undefined) device = got[i]
    } else if (part !== got[i]) return undefined
  }
  return got.length === wanted.length ? device : undefined
}

/**
 * Connects, subscribes and calls `handler` for each message, one at a time. Resolves once subscribed;
 * throws DEPENDENCY_MISSING when the broker cannot be reached within the connect timeout (with what to check).
 */
export async function subscribeMqtt(
  options: MqttSubscriberOptions,
  handler: (message: MqttSubscriberMessage) => Promise<void>,
): Promise<MqttSubscriberHandle> {
  const topic = options.topic ?? DEFAULT_MQTT_TOPIC
  const logger = options.logger ?? silentLogger
  let closing = false
  const clientOptions: IClientOptions = {
    clientId: options.clientId ?? `airlake-${hostname()}`.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 64),
    clean: false,
    reconnectPeriod: options.reconnectPeriodMs ?? 1_000,
    connectTimeout: options.connectTimeoutMs ?? 10_000,
    resubscribe: true,
    protocolVersion: 4,
  }
  let client: MqttClient
  try {
    client = mqtt.connect(options.url, clientOptions)
  } catch (error) {
    throw wrapError(error, 'CONFIG_INVALID', `MQTT_URL ${redactUrl(options.url)} cannot be used`)
  }

  client.handleMessage = (packet, callback) => {
    if (packet.cmd !== 'publish') return callback()
    const publish = packet as IPublishPacket
    const payload = Buffer.isBuffer(publish.payload) ? publish.payload : Buffer.from(publish.payload)
    const message = { topic: publish.topic, deviceId: deviceFromTopic(topic, publish.topic), payload }
    void deliver(message, 1).then(
      () => callback(),
      (error: unknown) => callback(error as Error),
    )
  }

  async function deliver(message: MqttSubscriberMessage, attempt: number): Promise<void> {
    try {
      await handler(message)
    } catch (error) {
      if (closing) {
        throw new AirlakeError(
          'UPSTREAM_FAILED',
          'closing before the message was handled; the broker will redeliver it',
          { cause: error },
        )
      }
      const delay = Math.min(30_000, 500 * 2 ** Math.min(attempt - 1, 6))
      logger.error('an MQTT message could not be ingested; retrying before acknowledging it', {
        topic: message.topic,
        attempt,
        delayMs: delay,
        error: (error as Error).message,
      })
      await new Promise((resolve) => setTimeout(resolve, delay))
      return deliver(message, attempt + 1)
    }
  }

  client.on('connect', (connack) => {
    logger.info('MQTT connected', { url: redactUrl(options.url), sessionPresent: connack.sessionPresent })
    options.onStatus?.('connected')
  })
  client.on('reconnect', () => options.onStatus?.('reconnecting'))
  client.on('offline', () => {
    if (!closing) logger.warn('MQTT broker unreachable; reconnecting', { url: redactUrl(options.url) })
    options.onStatus?.('offline')
  })
  client.on('error', (error) => logger.warn('MQTT error', { error: error.message }))

  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no connection within ${clientOptions.connectTimeout} ms`)),
        clientOptions.connectTimeout,
      )
      client.once('connect', () => {
        clearTimeout(timer)
        resolve()
      })
    })
    const granted = await client.subscribeAsync(topic, { qos: 1 })
    if (granted.some((g) => g.qos !== 1)) {
      throw new Error(
        `the broker granted QoS ${granted.map((g) => g.qos).join(',')} instead of 1 for ${topic}`,
      )
    }
  } catch (error) {
    closing = true
    await client.endAsync(true)
    throw wrapError(
      error,
      'DEPENDENCY_MISSING',
      `cannot subscribe to ${topic} at ${redactUrl(options.url)} (is the broker running, and MQTT_URL right?)`,
    )
  }
  logger.info('MQTT subscribed', { topic, qos: 1 })

  return {
    get connected() {
      return client.connected
    },
    dropConnection() {
      client.stream.destroy()
    },
    async close() {
      closing = true
      await client.endAsync()
      options.onStatus?.('closed')
    },
  }
}

function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):([^@]+)@/, '//$1:***@')
}
