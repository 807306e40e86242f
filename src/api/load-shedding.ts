/**
 * Load shedding: the server refuses work it cannot take (429 `OVERLOADED` with `Retry-After`) instead of
 * queueing until memory runs out. Two signals: requests in flight above `maxInFlight`, and the event
 * loop lagging more than `maxEventLoopDelayMs` (the process is saturated even if few requests are open).
 */

export interface LoadSheddingOptions {
  /** Requests handled at once before new ones are refused. */
  maxInFlight: number
  /** Event-loop lag (ms) above which new requests are refused; `0` turns the check off. */
  maxEventLoopDelayMs: number
  /** How often the lag is sampled (ms). */
  sampleIntervalMs?: number
}

export class LoadShedder {
  private inFlight = 0
  private lagMs = 0
  private timer: NodeJS.Timeout | undefined
  private expectedAt = 0
  /** Requests refused so far. */
  shed = 0

  constructor(readonly options: LoadSheddingOptions) {}

  /** Starts sampling the event-loop lag (a timer that does not keep the process alive). */
  start(): void {
    if (this.timer || this.options.maxEventLoopDelayMs <= 0) return
    const interval = this.options.sampleIntervalMs ?? 250
    this.expectedAt = performance.now() + interval
    this.timer = setInterval(() => {
      const now = performance.now()
      this.lagMs = Math.max(0, now - this.expectedAt)
      this.expectedAt = now + interval
    }, interval)
    this.timer.unref()
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
  }

  /**
   * Admits a request (call `leave` when it ends) or returns why it is refused. A refusal is counted in
   * `shed` and must not be followed by `leave`.
   */
  enter(): { ok: true } | { ok: false; reason: string } {
    if (this.inFlight >= this.options.maxInFlight) {
      this.shed++
      return {
        ok: false,
        reason: `${this.inFlight} requests are in flight, the limit is ${this.options.maxInFlight}`,
      }
    }
    if (this.options.maxEventLoopDelayMs > 0 && this.lagMs > this.options.maxEventLoopDelayMs) {
      this.shed++
      return { ok: false, reason: `the server is saturated (event loop ${Math.round(this.lagMs)} ms behind)` }
    }
    this.inFlight++
    return { ok: true }
  }

  leave(): void {
    if (this.inFlight > 0) this.inFlight--
  }

  get current(): { inFlight: number; eventLoopLagMs: number } {
    return { inFlight: this.inFlight, eventLoopLagMs: this.lagMs }
  }
}
