/**
 * The embedded profile's bus: handlers run in this process after the publisher's turn, so a slow
 * forecast never delays the ingest that published it. Members of one `group` share messages round-robin,
 * like a work queue; subscribers without a group each see every message.
 */
import type { Bus, BusHandler, BusTopic, BusTopics, SubscribeOptions } from '../../core/ports/bus.js'
import { type Logger, silentLogger } from '../../core/ports/logger.js'

interface Subscription {
  topic: BusTopic
  group: string | undefined
  handler: (message: unknown) => void | Promise<void>
}

export class InProcessBus implements Bus {
  readonly kind = 'in-process'
  private readonly subscriptions = new Set<Subscription>()
  private readonly nextInGroup = new Map<string, number>()
  private readonly pending = new Set<Promise<void>>()
  private closed = false

  constructor(private readonly logger: Logger = silentLogger) {}

  async publish<T extends BusTopic>(topic: T, message: BusTopics[T]): Promise<void> {
    if (this.closed) return
    for (const subscription of this.recipients(topic)) {
      const delivery = new Promise<void>((resolve) => setImmediate(resolve))
        .then(() => subscription.handler(message))
        .catch((error: unknown) => {
          this.logger.error('bus handler failed', { topic, group: subscription.group, error: String(error) })
        })
      this.pending.add(delivery)
      void delivery.finally(() => this.pending.delete(delivery))
    }
  }

  subscribe<T extends BusTopic>(
    topic: T,
    handler: BusHandler<T>,
    options: SubscribeOptions = {},
  ): () => void {
    const subscription: Subscription = {
      topic,
      group: options.group,
      handler: handler as Subscription['handler'],
    }
    this.subscriptions.add(subscription)
    return () => this.subscriptions.delete(subscription)
  }

  async drain(): Promise<void> {
    // Handlers may publish in turn; loop until a round adds nothing.
    while (this.pending.size > 0) await Promise.allSettled([...this.pending])
  }

  async close(): Promise<void> {
    await this.drain()
    this.closed = true
    this.subscriptions.clear()
  }

  private recipients(topic: BusTopic): Subscription[] {
    const ungrouped: Subscription[] = []
    const groups = new Map<string, Subscription[]>()
    for (const subscription of this.subscriptions) {
      if (subscription.topic !== topic) continue
      if (subscription.group === undefined) ungrouped.push(subscription)
      else groups.set(subscription.group, [...(groups.get(subscription.group) ?? []), subscription])
    }
    const chosen = [...ungrouped]
    for (const [group, members] of groups) {
      const key = `${topic}/${group}`
      const next = this.nextInGroup.get(key) ?? 0
      chosen.push(members[next % members.length]!)
      this.nextInGroup.set(key, next + 1)
    }
    return chosen
  }
}
