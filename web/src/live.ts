/**
 * The live feed: `GET /events` (server-sent events) read with `fetch` so the key travels in the
 * `x-api-key` header, never in a URL (EventSource cannot send headers). Reconnects with jittered
 * exponential backoff and `Last-Event-ID`, and tells the page whether it is live.
 */

/** One server-sent event as the wire format defines it (WHATWG HTML, "server-sent events"). */
export interface SseEvent {
  event: string
  data: string
  id?: string
}

/**
 * Incremental `text/event-stream` parser: feed it text chunks in order, get complete events back.
 * Handles CRLF, CR and LF line ends split across chunks, multi-line `data`, comments and `retry`.
 */
export class SseParser {
  private buffer = ''
  private event = ''
  private data: string[] = []
  private id: string | undefined
  private pendingCr = false
  /** The last `retry:` value the server sent, in ms. */
  retryMs: number | undefined

  push(chunk: string): SseEvent[] {
    let text = chunk
    if (this.pendingCr && text.startsWith('\n')) text = text.slice(1)
    this.pendingCr = false
    this.buffer += text
    const out: SseEvent[] = []
    let start = 0
    for (let i = 0; i < this.buffer.length; i++) {
      const c = this.buffer[i]
      if (c !== '\n' && c !== '\r') continue
      this.line(this.buffer.slice(start, i), out)
      if (c === '\r') {
        if (i + 1 === this.buffer.length) this.pendingCr = true
        else if (this.buffer[i + 1] === '\n') i++
      }
      start = i + 1
    }
    this.buffer = this.buffer.slice(start)
    return out
  }

  private line(line: string, out: SseEvent[]): void {
    if (line === '') {
      if (this.data.length > 0) {
        const event: SseEvent = { event: this.event || 'message', data: this.data.join('\n') }
        if (this.id !== undefined) event.id = this.id
        out.push(event)
      }
      this.event = ''
      this.data = []
      return
    }
    if (line.startsWith(':')) return
    const colon = line.indexOf(':')
    const field = colon < 0 ? line : line.slice(0, colon)
    let value = colon < 0 ? '' : line.slice(colon + 1)
    if (value.startsWith(' ')) value = value.slice(1)
    if (field === 'event') this.event = value
    else if (field === 'data') this.data.push(value)
    else if (field === 'id' && !value.includes('\0')) this.id = value
    else if (field === 'retry' && /^\d+$/.test(value)) this.retryMs = Number(value)
  }
}

/** Topics the page listens to; the server's event names (`readings` or `readings.stored`) map to these. */
export type LiveTopic = 'readings' | 'predictions' | 'runs' | 'devices' | 'models' | 'selection'

export type LiveStatus = 'connecting' | 'live' | 'reconnecting' | 'stopped'

type Handler = (message: unknown) => void

export interface LiveFeedOptions {
  url: string
  headers: () => Record<string, string>
  /** Called when the server refuses the key (401): the feed stops. */
  onUnauthorized?: () => void
  minDelayMs?: number
  maxDelayMs?: number
}

export class LiveFeed {
  private readonly handlers = new Map<LiveTopic, Set<Handler>>()
  private readonly statusListeners = new Set<(status: LiveStatus) => void>()
  private controller: AbortController | undefined
  private lastEventId: string | undefined
  private attempt = 0
  private timer: ReturnType<typeof setTimeout> | undefined
  private current: LiveStatus = 'stopped'
  private readonly minDelayMs: number
  private readonly maxDelayMs: number

  constructor(private readonly options: LiveFeedOptions) {
    this.minDelayMs = options.minDelayMs ?? 1000
    this.maxDelayMs = options.maxDelayMs ?? 30_000
  }

  get status(): LiveStatus {
    return this.current
  }

  /** Calls `handler` with each message of `topic` (parsed JSON); returns the unsubscribe function. */
  on(topic: LiveTopic, handler: Handler): () => void {
    const set = this.handlers.get(topic) ?? new Set<Handler>()
    this.handlers.set(topic, set)
    set.add(handler)
    return () => set.delete(handler)
  }

  onStatus(listener: (status: LiveStatus) => void): () => void {
    this.statusListeners.add(listener)
    listener(this.current)
    return () => this.statusListeners.delete(listener)
  }

  start(): void {
    if (this.controller) return
    this.connect()
  }

  stop(): void {
    clearTimeout(this.timer)
    this.controller?.abort()
    this.controller = undefined
    this.setStatus('stopped')
  }

  private setStatus(status: LiveStatus): void {
    if (status === this.current) return
    this.current = status
    for (const listener of this.statusListeners) listener(status)
  }

  private connect(): void {
    const controller = new AbortController()
    this.controller = controller
    this.setStatus(this.attempt === 0 ? 'connecting' : 'reconnecting')
    const parser = new SseParser()
    void this.read(controller, parser).then(
      (outcome) => {
        if (controller.signal.aborted) return
        if (outcome === 'unauthorized') {
          this.stop()
          this.options.onUnauthorized?.()
          return
        }
        this.retry(parser.retryMs)
      },
      () => {
        if (!controller.signal.aborted) this.retry(parser.retryMs)
      },
    )
  }

  private async read(controller: AbortController, parser: SseParser): Promise<'ended' | 'unauthorized'> {
    const headers: Record<string, string> = { ...this.options.headers(), accept: 'text/event-stream' }
    if (this.lastEventId !== undefined) headers['last-event-id'] = this.lastEventId
    const response = await fetch(this.options.url, { headers, signal: controller.signal, cache: 'no-store' })
    if (response.status === 401) return 'unauthorized'
    if (!response.ok || !response.body) throw new Error(`events answered ${response.status}`)
    this.attempt = 0
    this.setStatus('live')
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
    for (;;) {
      const { value, done } = await reader.read()
      if (done) return 'ended'
      for (const event of parser.push(value)) this.dispatch(event)
    }
  }

  private retry(serverDelayMs: number | undefined): void {
    this.controller = undefined
    this.setStatus('reconnecting')
    const backoff = Math.min(this.maxDelayMs, this.minDelayMs * 2 ** this.attempt)
    this.attempt++
    // Jitter spreads reconnects when a restarted server has many dashboards open.
    const delay = Math.max(serverDelayMs ?? 0, backoff * (0.5 + Math.random() * 0.5))
    this.timer = setTimeout(() => this.connect(), delay)
  }

  private dispatch(event: SseEvent): void {
    if (event.id !== undefined) this.lastEventId = event.id
    const topic = event.event.split('.')[0] as LiveTopic
    const set = this.handlers.get(topic)
    if (!set || set.size === 0) return
    let message: unknown
    try {
      message = JSON.parse(event.data)
    } catch {
      return
    }
    for (const handler of [...set]) handler(message)
  }
}
