/**
 * The scaled-out bus on NATS JetStream: every topic is a subject `<prefix>.<topic>` in one stream, so
 * messages survive a consumer's restart. Subscribers with a `group` share one durable consumer (a work
 * queue across processes: each forecast job runs once); subscribers without a group get an ordered
 * consumer from "now" (each dashboard sees every event).
 */
import {
  AckPolicy,
  type ConsumerMessages,
  connect,
  DeliverPolicy,
  type JetStreamClient,
  type JetStreamManager,
  type NatsConnection,
  RetentionPolicy,
} from 'nats'
import { AirlakeError, wrapError } from '../../core/errors.js'
import type { Bus, BusHandler, BusTopic, BusTopics, SubscribeOptions } from '../../core/ports/bus.js'
import { type Logger, silentLogger } from '../../core/ports/logger.js'

export interface NatsBusOptions {
  /** Stream name; one per deployment. */
  stream?: string
  /** Subject prefix. */
  prefix?: string
  /** How long the stream keeps messages (ms). */
  maxAgeMs?: number
  logger?: Logger
}

export class NatsBus implements Bus {
  readonly kind = 'nats'
  private readonly consumers = new Set<ConsumerMessages>()
  private readonly inFlight = new Set<Promise<void>>()

  private constructor(
    private readonly connection: NatsConnection,
    private readonly jetstream: JetStreamClient,
    private readonly manager: JetStreamManager,
    private readonly stream: string,
    private readonly prefix: string,
    private readonly logger: Logger,
  ) {}

  /** Connects and makes sure the stream exists. Throws BUS_UNAVAILABLE saying what to check. */
  static async connect(url: string, options: NatsBusOptions = {}): Promise<NatsBus> {
    const stream = options.stream ?? 'AIRLAKE'
    const prefix = options.prefix ?? 'airlake'
    const servers = url.replace(/^nats:\/\//, '')
    let connection: NatsConnection
    try {
      connection = await connect({ servers, name: 'airlake', maxReconnectAttempts: -1, timeout: 5000 })
    } catch (error) {
      throw wrapError(
        error,
        'BUS_UNAVAILABLE',
        `cannot reach NATS at ${servers} (is nats-server running with -js?)`,
      )
    }
    try {
      const manager = await connection.jetstreamManager()
      const config = {
        name: stream,
        subjects: [`${prefix}.>`],
        retention: RetentionPolicy.Limits,
        max_age: (options.maxAgeMs ?? 24 * 3_600_000) * 1_000_000,
      }
      try {
        await manager.streams.info(stream)
        await manager.streams.update(stream, config)
      } catch {
        await manager.streams.add(config)
      }
      return new NatsBus(
        connection,
        connection.jetstream(),
        manager,
        stream,
        prefix,
        options.logger ?? silentLogger,
      )
    } catch (error) {
      await connection.close().catch(() => {})
      throw wrapError(
        error,
        'BUS_UNAVAILABLE',
        `NATS at ${servers} has no usable JetStream (start nats-server with -js)`,
      )
    }
  }

  async publish<T extends BusTopic>(topic: T, message: BusTopics[T]): Promise<void> {
    try {
      await this.jetstream.publish(this.subject(topic), JSON.stringify(message))
    } catch (error) {
      throw wrapError(error, 'BUS_UNAVAILABLE', `could not publish ${topic} to NATS stream ${this.stream}`)
    }
  }

  subscribe<T extends BusTopic>(
    topic: T,
    handler: BusHandler<T>,
    options: SubscribeOptions = {},
  ): () => void {
    let stopped = false
    let messages: ConsumerMessages | undefined
    // Start from the moment of the call, not from when the consumer is ready: nothing published after
    // `subscribe` returns is missed.
    const startTime = new Date().toISOString()
    const run = async () => {
      const subject = this.subject(topic)
      if (options.group) {
        const durable = `${options.group}-${topic}`.replace(/[^A-Za-z0-9_-]/g, '_')
        await this.manager.consumers
          .add(this.stream, {
            durable_name: durable,
            ack_policy: AckPolicy.Explicit,
            deliver_policy: DeliverPolicy.StartTime,
            opt_start_time: startTime,
            filter_subject: subject,
            ack_wait: 30_000_000_000,
          })
          .catch(async (error) => {
            // Another process made it first: fine, it is shared.
            if (!(await this.manager.consumers.info(this.stream, durable).catch(() => undefined))) throw error
          })
        const consumer = await this.jetstream.consumers.get(this.stream, durable)
        messages = await consumer.consume()
      } else {
        const consumer = await this.jetstream.consumers.get(this.stream, {
          // A single subject string: nats-server 2.9 (Debian 12) has no multi-filter consumers.
          filterSubjects: subject,
          deliver_policy: DeliverPolicy.StartTime,
          opt_start_time: startTime,
        })
        messages = await consumer.consume()
      }
      if (stopped) {
        messages.stop()
        return
      }
      this.consumers.add(messages)
      for await (const message of messages) {
        const handled = (async () => {
          try {
            await handler(message.json<BusTopics[T]>())
          } catch (error) {
            this.logger.error('bus handler failed', { topic, group: options.group, error: String(error) })
          } finally {
            message.ack()
          }
        })()
        this.inFlight.add(handled)
        await handled
        this.inFlight.delete(handled)
      }
    }
    const started = run().catch((error) => {
      this.logger.error('NATS subscription failed', { topic, error: String(error) })
    })
    void started
    return () => {
      stopped = true
      messages?.stop()
      if (messages) this.consumers.delete(messages)
    }
  }

  async drain(): Promise<void> {
    await this.connection.flush()
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight])
  }

  async close(): Promise<void> {
    for (const messages of this.consumers) messages.stop()
    this.consumers.clear()
    await this.drain().catch(() => {})
    await this.connection.drain().catch(() => {})
  }

  private subject(topic: BusTopic): string {
    if (!/^[a-z.]+$/.test(topic)) throw new AirlakeError('BAD_REQUEST', `bad topic ${topic}`)
    return `${this.prefix}.${topic}`
  }
}
