/**
 * A small Prometheus registry (text exposition format 0.0.4): counters, gauges and histograms with
 * labels. Route modules add their own through `app.metrics`; `GET /metrics` renders them all.
 */

type Labels = Record<string, string>

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')
}

function labelText(labels: Labels, extra?: [string, string]): string {
  const pairs = Object.entries(labels)
  if (extra) pairs.push(extra)
  if (pairs.length === 0) return ''
  return `{${pairs.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}`
}

function labelKey(names: readonly string[], labels: Labels): string {
  return names.map((name) => labels[name] ?? '').join('\u0000')
}

function formatNumber(value: number): string {
  if (Number.isNaN(value)) return 'NaN'
  if (value === Number.POSITIVE_INFINITY) return '+Inf'
  if (value === Number.NEGATIVE_INFINITY) return '-Inf'
  return String(value)
}

interface Metric {
  readonly name: string
  render(): string
}

/** A monotonically increasing count. */
export class Counter implements Metric {
  private readonly values = new Map<string, { labels: Labels; value: number }>()
  constructor(
    readonly name: string,
    private readonly help: string,
    private readonly labelNames: readonly string[] = [],
  ) {}

  /** Adds `amount` (default 1, never negative) to the series of `labels`. */
  inc(labels: Labels = {}, amount = 1): void {
    if (amount < 0 || !Number.isFinite(amount)) throw new RangeError(`${this.name}: a counter only goes up`)
    const key = labelKey(this.labelNames, labels)
    const entry = this.values.get(key)
    if (entry) entry.value += amount
    else this.values.set(key, { labels: pick(this.labelNames, labels), value: amount })
  }

  /** The current value of the series of `labels` (0 when never incremented). */
  get(labels: Labels = {}): number {
    return this.values.get(labelKey(this.labelNames, labels))?.value ?? 0
  }

  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`]
    for (const { labels, value } of this.values.values())
      lines.push(`${this.name}${labelText(labels)} ${formatNumber(value)}`)
    return lines.join('\n')
  }
}

/** A value read when the metrics are rendered. */
export class Gauge implements Metric {
  constructor(
    readonly name: string,
    private readonly help: string,
    private readonly read: () => number | Array<{ labels: Labels; value: number }>,
  ) {}

  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} gauge`]
    const value = this.read()
    if (typeof value === 'number') lines.push(`${this.name} ${formatNumber(value)}`)
    else
      for (const entry of value)
        lines.push(`${this.name}${labelText(entry.labels)} ${formatNumber(entry.value)}`)
    return lines.join('\n')
  }
}

/** Observations counted into cumulative buckets (upper bounds in the metric's unit). */
export class Histogram implements Metric {
  private readonly series = new Map<
    string,
    { labels: Labels; counts: number[]; sum: number; count: number }
  >()
  constructor(
    readonly name: string,
    private readonly help: string,
    private readonly labelNames: readonly string[],
    private readonly buckets: readonly number[],
  ) {}

  observe(labels: Labels, value: number): void {
    const key = labelKey(this.labelNames, labels)
    let entry = this.series.get(key)
    if (!entry) {
      entry = {
        labels: pick(this.labelNames, labels),
        counts: new Array(this.buckets.length).fill(0),
        sum: 0,
        count: 0,
      }
      this.series.set(key, entry)
    }
    // Buckets are stored non-cumulative and summed at render time: observing stays O(log buckets).
    let low = 0
    let high = this.buckets.length
    while (low < high) {
      const mid = (low + high) >> 1
      if (value <= this.buckets[mid]!) high = mid
      else low = mid + 1
    }
    if (low < this.buckets.length) entry.counts[low]!++
    entry.sum += value
    entry.count++
  }

  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`]
    for (const { labels, counts, sum, count } of this.series.values()) {
      let cumulative = 0
      this.buckets.forEach((bound, i) => {
        cumulative += counts[i]!
        lines.push(`${this.name}_bucket${labelText(labels, ['le', formatNumber(bound)])} ${cumulative}`)
      })
      lines.push(`${this.name}_bucket${labelText(labels, ['le', '+Inf'])} ${count}`)
      lines.push(`${this.name}_sum${labelText(labels)} ${formatNumber(sum)}`)
      lines.push(`${this.name}_count${labelText(labels)} ${count}`)
    }
    return lines.join('\n')
  }
}

function pick(names: readonly string[], labels: Labels): Labels {
  const picked: Labels = {}
  for (const name of names) picked[name] = labels[name] ?? ''
  return picked
}

/** The set of metrics one server exposes. Names must be unique. */
export class MetricsRegistry {
  private readonly metrics = new Map<string, Metric>()

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    return this.add(new Counter(name, help, labelNames))
  }

  gauge(name: string, help: string, read: ConstructorParameters<typeof Gauge>[2]): Gauge {
    return this.add(new Gauge(name, help, read))
  }

  histogram(
    name: string,
    help: string,
    labelNames: readonly string[],
    buckets: readonly number[],
  ): Histogram {
    return this.add(
      new Histogram(
        name,
        help,
        labelNames,
        [...buckets].sort((a, b) => a - b),
      ),
    )
  }

  /** Every metric in Prometheus text format, ending with a newline. */
  render(): string {
    return `${[...this.metrics.values()].map((metric) => metric.render()).join('\n')}\n`
  }

  private add<T extends Metric>(metric: T): T {
    if (!NAME.test(metric.name)) throw new Error(`invalid metric name ${JSON.stringify(metric.name)}`)
    if (this.metrics.has(metric.name)) throw new Error(`metric ${metric.name} is already registered`)
    this.metrics.set(metric.name, metric)
    return metric
  }
}
