/**
 * One device: each measure over a chosen range, with the forecasts for a few horizons drawn beside
 * the actuals, a "now" line, and the latest forecast path running ahead of it. Live: readings and
 * forecasts from `/events` are merged in as they arrive and the window slides with the clock.
 */
import { errorMessage, type SeriesTable } from '../api.js'
import { type Chart, createChart, type SeriesSpec } from '../charts.js'
import type { Context, View } from '../context.js'
import { type DeviceSummary, loadDevices, predictionsFromEvent, readingsFromEvent } from '../data.js'
import { debounce, h, perFrame, replace } from '../dom.js'
import {
  DAY,
  formatAge,
  formatDuration,
  formatTime,
  formatValue,
  freshness,
  HOUR,
  MINUTE,
  measureLabel,
} from '../format.js'

type RangeKind = '1h' | '24h' | '7d' | 'custom'

const SPANS: Record<Exclude<RangeKind, 'custom'>, number> = { '1h': HOUR, '24h': DAY, '7d': 7 * DAY }
const RANGE_LABELS: Record<RangeKind, string> = {
  '1h': 'Last hour',
  '24h': 'Day',
  '7d': 'Week',
  custom: 'Custom',
}

const ACTUAL_COLOR = '#38bdf8'
const HORIZON_COLORS = ['#a78bfa', '#f472b6', '#fb923c']
const NEXT_COLOR = '#fbbf24'

/** time -> value, for one series. */
type Points = Map<number, number>

interface MeasurePanel {
  measure: string
  element: HTMLElement
  chartBox: HTMLElement
  headline: HTMLElement
  chart?: Chart
  /** Horizons drawn, in steps; fixed when the chart is made (a new horizon set rebuilds it). */
  horizons: number[]
}

export function deviceView(ctx: Context, deviceId: string): View {
  const actuals = new Map<string, Points>()
  /** measure -> horizon (steps) -> points */
  const forecasts = new Map<string, Map<number, Points>>()
  const modelOf = new Map<string, string>()
  const panels = new Map<string, MeasurePanel>()
  let device: DeviceSummary | undefined
  let range: { kind: RangeKind; from?: number; to?: number } = { kind: '1h' }
  let disposed = false
  let loadToken = 0

  const title = h('h1', null, deviceId)
  const meta = h('p', { class: 'muted device-meta' })
  const status = h('p', { class: 'muted', role: 'status' }, 'Loading…')
  const charts = h('div', { class: 'measure-grid' })
  const rangeButtons = (Object.keys(RANGE_LABELS) as RangeKind[]).map((kind) =>
    h(
      'button',
      {
        type: 'button',
        class: 'segment',
        'aria-pressed': kind === '1h' ? 'true' : 'false',
        dataset: { range: kind },
      },
      RANGE_LABELS[kind],
    ),
  )
  const fromInput = h('input', { type: 'datetime-local', 'aria-label': 'From', step: 60 })
  const toInput = h('input', { type: 'datetime-local', 'aria-label': 'To', step: 60 })
  const custom = h(
    'form',
    { class: 'custom-range', hidden: true },
    h('label', null, 'From ', fromInput),
    h('label', null, 'To ', toInput),
    h('button', { type: 'submit', class: 'primary small' }, 'Show'),
  )
  const element = h(
    'section',
    { class: 'page' },
    h('a', { class: 'back', href: '#/devices' }, '← Devices'),
    h(
      'div',
      { class: 'page-head' },
      h('div', null, title, meta),
      h(
        'div',
        { class: 'range-picker' },
        h('div', { class: 'segments', role: 'group', 'aria-label': 'Range' }, rangeButtons),
        custom,
      ),
    ),
    status,
    charts,
  )

  for (const button of rangeButtons) {
    button.addEventListener('click', () => {
      const kind = button.dataset.range as RangeKind
      for (const b of rangeButtons) b.setAttribute('aria-pressed', String(b === button))
      custom.hidden = kind !== 'custom'
      if (kind === 'custom') {
        const [from, to] = window_()
        fromInput.value = toLocalInput(from)
        toInput.value = toLocalInput(Math.min(to, Date.now()))
        return
      }
      range = { kind }
      void load()
    })
  }
  custom.addEventListener('submit', (event) => {
    event.preventDefault()
    const from = Date.parse(fromInput.value)
    const to = Date.parse(toInput.value)
    if (!Number.isFinite(from) || !Number.isFinite(to) || to <= from) {
      ctx.notify('Choose a start before the end.', 'error')
      return
    }
    range = { kind: 'custom', from, to }
    void load()
  })

  /** Grid step of the device's data (ms), from the spacing of readings; one minute when unknown. */
  const stepMs = (): number => {
    const points = actuals.get(primaryMeasure() ?? '')
    if (!points || points.size < 3) return MINUTE
    const times = [...points.keys()].sort((a, b) => a - b).slice(-50)
    const gaps = times.slice(1).map((t, i) => t - times[i]!)
    gaps.sort((a, b) => a - b)
    return Math.max(MINUTE, gaps[Math.floor(gaps.length / 2)] ?? MINUTE)
  }
  const maxHorizon = (): number => {
    let max = 0
    for (const byH of forecasts.values()) for (const h of byH.keys()) max = Math.max(max, h)
    return max || 15
  }
  const lastReading = (): number | undefined => {
    let last = device?.lastSeen
    for (const points of actuals.values())
      for (const t of points.keys()) if (last === undefined || t > last) last = t
    return last
  }
  /** Where "now" is drawn: the clock, unless the device went quiet before the window (then its last reading). */
  const anchor = (): { time: number; label: string } => {
    const now = Date.now()
    const last = lastReading()
    if (range.kind !== 'custom' && last !== undefined && now - last > SPANS[range.kind]) {
      return { time: last, label: `last reading · ${formatAge(last)}` }
    }
    return { time: now, label: 'now' }
  }
  /** The x range shown: the span up to the anchor, plus room for the forecast horizon on the right. */
  function window_(): [number, number] {
    if (range.kind === 'custom') return [range.from!, range.to!]
    const span = SPANS[range.kind]
    const at = anchor().time
    const lead = Math.max(maxHorizon() * stepMs() * 1.15, span * 0.04)
    return [at - span, at + lead]
  }

  const primaryMeasure = (): string | undefined => {
    const withForecast = [...forecasts.keys()].sort()
    return withForecast[0] ?? [...actuals.keys()].sort(byMeasure)[0]
  }

  const ensurePanel = (measure: string): MeasurePanel => {
    const horizons = chooseHorizons([...(forecasts.get(measure)?.keys() ?? [])])
    let panel = panels.get(measure)
    if (panel && sameList(panel.horizons, horizons)) return panel
    panel?.chart?.destroy()
    if (!panel) {
      const chartBox = h('div', { class: 'chart-box' })
      const headline = h('div', { class: 'headline' })
      panel = {
        measure,
        chartBox,
        headline,
        horizons,
        element: h(
          'article',
          { class: 'card measure-card', dataset: { measure } },
          h('div', { class: 'card-head' }, h('h2', null, measureLabel(measure)), headline),
          chartBox,
        ),
      }
      panels.set(measure, panel)
    }
    panel.horizons = horizons
    const hasForecast = horizons.length > 0
    panel.element.classList.toggle('has-forecast', hasForecast)
    const series: SeriesSpec[] = [
      { label: 'actual', color: ACTUAL_COLOR, width: 2 },
      ...horizons.map((step, i) => ({
        label: `forecast ${horizonLabel(step)}`,
        color: HORIZON_COLORS[i % HORIZON_COLORS.length]!,
        width: 1.25,
        dash: [5, 4],
      })),
    ]
    if (hasForecast)
      series.push({ label: 'next', color: NEXT_COLOR, width: 2.5, points: true, spanGaps: true })
    // In the page before the chart is made, so it takes the card's width at once.
    orderPanels()
    panel.chart = createChart(panel.chartBox, {
      series,
      height: hasForecast ? 300 : 170,
      xRange: () => window_(),
      now: () => anchor().time,
      nowLabel: () => anchor().label,
      formatY: (v) => formatValue(v),
    })
    return panel
  }

  const horizonLabel = (steps: number) => `+${formatDuration(steps * stepMs(), true)}`

  const orderPanels = () => {
    const ordered = [...panels.values()].sort((a, b) => {
      const fa = a.horizons.length > 0 ? 0 : 1
      const fb = b.horizons.length > 0 ? 0 : 1
      return fa - fb || byMeasure(a.measure, b.measure)
    })
    ordered.forEach((panel, i) => {
      if (charts.children[i] !== panel.element) charts.insertBefore(panel.element, charts.children[i] ?? null)
    })
  }

  const draw = () => {
    if (disposed) return
    const [from, to] = window_()
    const measures = new Set([...actuals.keys(), ...forecasts.keys()])
    for (const measure of measures) {
      const panel = ensurePanel(measure)
      const data = alignedData(measure, panel.horizons, from, to)
      panel.chart!.setData(data)
      renderHeadline(panel)
    }
    renderMeta()
    if (measures.size === 0) {
      replace(status, h('span', null, 'No readings for this device in this range. Pick a longer range.'))
    } else {
      status.textContent = ''
    }
  }
  const scheduleDraw = perFrame(draw)

  /** uPlot data: x = union of times in [from, to]; actual, the chosen horizons, and the next-forecast path. */
  const alignedData = (measure: string, horizons: number[], from: number, to: number) => {
    const actual = actuals.get(measure) ?? new Map<number, number>()
    const byH = forecasts.get(measure) ?? new Map<number, Points>()
    const times = new Set<number>()
    for (const t of actual.keys()) if (t >= from && t <= to) times.add(t)
    for (const points of byH.values()) for (const t of points.keys()) if (t >= from && t <= to) times.add(t)
    const xs = [...times].sort((a, b) => a - b)
    const columns: Array<Array<number | null>> = [xs.map((t) => actual.get(t) ?? null)]
    for (const step of horizons) {
      const points = byH.get(step)
      columns.push(xs.map((t) => points?.get(t) ?? null))
    }
    if (horizons.length > 0) columns.push(nextPath(actual, byH, xs))
    return [xs, ...columns] as [number[], ...Array<Array<number | null>>]
  }

  /**
   * The latest forecast: for each time after the last actual, the value of the shortest horizon that
   * reaches it (that is the most recently issued), starting from the last actual so the path joins it.
   */
  const nextPath = (actual: Points, byH: Map<number, Points>, xs: number[]) => {
    let lastActual = Number.NEGATIVE_INFINITY
    for (const t of actual.keys()) if (t > lastActual) lastActual = t
    const horizons = [...byH.keys()].sort((a, b) => a - b)
    return xs.map((t) => {
      if (t === lastActual) return actual.get(t) ?? null
      if (t < lastActual) return null
      for (const step of horizons) {
        const v = byH.get(step)?.get(t)
        if (v !== undefined) return v
      }
      return null
    })
  }

  const renderHeadline = (panel: MeasurePanel) => {
    const actual = actuals.get(panel.measure)
    let lastTime = Number.NEGATIVE_INFINITY
    if (actual) for (const t of actual.keys()) if (t > lastTime) lastTime = t
    const last = actual?.get(lastTime)
    const byH = forecasts.get(panel.measure)
    const maxH = byH ? Math.max(...byH.keys()) : 0
    const ahead = byH?.get(maxH)
    let aheadValue: number | undefined
    let aheadTime = Number.NEGATIVE_INFINITY
    if (ahead) for (const [t, v] of ahead) if (t > aheadTime) [aheadTime, aheadValue] = [t, v]
    const model = modelOf.get(panel.measure)
    // What the chart holds, for scripts and tests: the newest actual and how far the forecasts reach (epoch ms).
    let forecastUntil = Number.NEGATIVE_INFINITY
    for (const points of byH?.values() ?? [])
      for (const t of points.keys()) if (t > forecastUntil) forecastUntil = t
    if (Number.isFinite(lastTime)) panel.element.dataset.lastActual = String(lastTime)
    if (Number.isFinite(forecastUntil)) panel.element.dataset.forecastUntil = String(forecastUntil)
    replace(
      panel.headline,
      h('span', { class: 'big' }, formatValue(last, panel.measure)),
      last !== undefined ? h('span', { class: 'muted small' }, formatAge(lastTime)) : null,
      aheadValue !== undefined && aheadTime > lastTime
        ? h(
            'span',
            { class: 'forecast-chip', title: `forecast for ${formatTime(aheadTime)}` },
            `${horizonLabel(maxH)}: ${formatValue(aheadValue, panel.measure)}`,
          )
        : null,
      model ? h('span', { class: 'badge', title: 'model serving this forecast' }, model) : null,
    )
  }

  const renderMeta = () => {
    const last = lastReading()
    const state = freshness(last)
    title.textContent = device?.name ?? deviceId
    replace(
      meta,
      device?.name ? h('span', { class: 'mono' }, deviceId) : null,
      device?.source ? h('span', { class: 'badge' }, device.source) : null,
      h('span', { class: `dot dot-${state}` }),
      last !== undefined ? `last reading ${formatAge(last)}` : 'no readings yet',
      state === 'stale' && last !== undefined ? h('span', { class: 'badge badge-stale' }, 'stale') : null,
    )
  }

  const load = async (quiet = false) => {
    const token = ++loadToken
    if (!quiet) status.textContent = 'Loading…'
    try {
      device ??= await findDevice(ctx, deviceId)
      const [from, to] = window_()
      const query = { device: deviceId, from: Math.floor(from / 1000), to: Math.ceil(to / 1000) }
      const readings = await ctx.api.table('/sensorsdata', query)
      const predictions = await ctx.api.table('/predictions', query)
      if (token !== loadToken || disposed) return
      actuals.clear()
      forecasts.clear()
      mergeActuals(readings)
      mergeForecasts(predictions)
      draw()
    } catch (error) {
      if (token !== loadToken || disposed) return
      replace(
        status,
        h('span', { class: 'error-text' }, `Could not load this device: ${errorMessage(error)}`),
      )
    }
  }

  const mergeActuals = (table: SeriesTable) => {
    for (const [measure, values] of table.columns) {
      const points = actuals.get(measure) ?? new Map<number, number>()
      values.forEach((v, i) => {
        if (v !== null) points.set(table.times[i]!, v)
      })
      if (points.size > 0) actuals.set(measure, points)
    }
  }
  const mergeForecasts = (table: SeriesTable) => {
    for (const [name, values] of table.columns) {
      const parsed = parseForecastName(name)
      if (!parsed) continue
      const byH = forecasts.get(parsed.measure) ?? new Map<number, Points>()
      const points = byH.get(parsed.horizon) ?? new Map<number, number>()
      values.forEach((v, i) => {
        if (v !== null) points.set(table.times[i]!, v)
      })
      if (points.size === 0) continue
      byH.set(parsed.horizon, points)
      forecasts.set(parsed.measure, byH)
    }
  }

  const onReadings = (message: unknown) => {
    let changed = false
    const { readings, complete } = readingsFromEvent(message)
    for (const r of readings) {
      if (r.deviceId !== deviceId) continue
      let points = actuals.get(r.measure)
      if (!points) {
        points = new Map()
        actuals.set(r.measure, points)
      }
      points.set(r.time, r.value)
      if (device && (device.lastSeen === undefined || r.time > device.lastSeen)) device.lastSeen = r.time
      if (device && !device.source && r.source) device.source = r.source
      changed = true
    }
    if (!changed) return
    scheduleDraw()
    // The feed carries only the newest minute of a batch: fetch the rest of a backfill from the API.
    if (!complete) refetch()
  }
  const onPredictions = (message: unknown) => {
    const m = predictionsFromEvent(message)
    if (m.deviceId !== deviceId) return
    for (const p of m.predictions) {
      const parsed = parseForecastName(p.measureName)
      if (!parsed) continue
      let byH = forecasts.get(parsed.measure)
      if (!byH) {
        byH = new Map()
        forecasts.set(parsed.measure, byH)
      }
      let points = byH.get(parsed.horizon)
      if (!points) {
        points = new Map()
        byH.set(parsed.horizon, points)
      }
      points.set(p.time, p.value)
      const model = m.modelVersion
      if (model) modelOf.set(parsed.measure, model)
    }
    scheduleDraw()
  }

  const refetch = debounce(() => void load(true), 2000)
  const unsubscribe = [ctx.live.on('readings', onReadings), ctx.live.on('predictions', onPredictions)]
  // Slides the window and the now line with the clock; also ages the "last reading" labels.
  const ticker = setInterval(scheduleDraw, 10_000)
  void load()

  return {
    title: deviceId,
    element,
    dispose: () => {
      disposed = true
      refetch.cancel()
      clearInterval(ticker)
      for (const off of unsubscribe) off()
      for (const panel of panels.values()) panel.chart?.destroy()
    },
  }
}

/**
 * The device as the list shows it (`GET /devices`), or one made from its newest reading, so that the
 * window of a device that went quiet is placed at its last reading rather than at an empty "now".
 */
async function findDevice(ctx: Context, deviceId: string): Promise<DeviceSummary> {
  if (ctx.has('GET /devices')) {
    const found = (await loadDevices(ctx.api, { deviceRoute: true })).find((d) => d.id === deviceId)
    if (found) return found
  }
  const newest = await ctx.api.table('/sensorsdata', { device: deviceId, limit: 1 }, { maxPages: 1 })
  const device: DeviceSummary = { id: deviceId, source: '', latest: new Map() }
  const lastSeen = newest.times[newest.times.length - 1]
  if (lastSeen !== undefined) device.lastSeen = lastSeen
  return device
}

/** `iaq~5` -> { measure: 'iaq', horizon: 5 }. */
export function parseForecastName(name: string): { measure: string; horizon: number } | undefined {
  const m = /^(.+)~(\d+)$/.exec(name)
  if (!m) return undefined
  return { measure: m[1]!, horizon: Number(m[2]) }
}

/** The horizons drawn: 5, 10 and 15 when present, else up to three spread over what the model forecasts. */
export function chooseHorizons(available: number[]): number[] {
  const sorted = [...new Set(available)].sort((a, b) => a - b)
  if ([5, 10, 15].every((h) => sorted.includes(h))) return [5, 10, 15]
  if (sorted.length <= 3) return sorted
  const n = sorted.length
  return [...new Set([sorted[Math.round(n / 3) - 1]!, sorted[Math.round((2 * n) / 3) - 1]!, sorted[n - 1]!])]
}

function sameList(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i])
}

function byMeasure(a: string, b: string): number {
  const order = ['iaq', 'co2', 'voc', 'temperature', 'humidity', 'pressure']
  const ia = order.indexOf(a)
  const ib = order.indexOf(b)
  return (ia < 0 ? order.length : ia) - (ib < 0 ? order.length : ib) || a.localeCompare(b)
}

function toLocalInput(time: number): string {
  const d = new Date(time - new Date(time).getTimezoneOffset() * MINUTE)
  return d.toISOString().slice(0, 16)
}
