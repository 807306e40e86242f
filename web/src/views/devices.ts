/**
 * Devices: every device with its last reading, how fresh it is, its source and a sparkline of its
 * newest 60 readings. Readings and new devices arrive live.
 */
import { errorMessage } from '../api.js'
import { sparkline } from '../charts.js'
import type { Context, View } from '../context.js'
import { type DeviceSummary, deviceFromEvent, loadDevices, readingsFromEvent } from '../data.js'
import { debounce, h, perFrame, replace } from '../dom.js'
import { formatAge, formatValue, freshness, measureLabel } from '../format.js'

/** The measure a sparkline shows: IAQ when the device has it, else its first measure. */
const PREFERRED = ['iaq', 'pm25', 'co2', 'temperature']
/** Devices whose newest readings are fetched on opening: beyond this the list shows ids, and live values as they come. */
const MAX_SPARKLINES = 60
/** Newest readings fetched per device and drawn in its sparkline: an hour at one a minute. */
const SPARK_POINTS = 60

interface Row {
  device: DeviceSummary
  element: HTMLElement
  spark: { times: number[]; values: number[]; measure?: string }
}

export function devicesView(ctx: Context): View {
  const rows = new Map<string, Row>()
  const list = h('div', { class: 'device-list', role: 'list' })
  const summary = h('p', { class: 'muted' }, 'Loading devices…')
  const element = h(
    'section',
    { class: 'page' },
    h('div', { class: 'page-head' }, h('div', null, h('h1', null, 'Devices'), summary)),
    list,
  )
  let disposed = false

  const refreshSummary = () => {
    const devices = [...rows.values()].map((r) => r.device)
    if (devices.length === 0) {
      replace(
        summary,
        'No devices yet. Send a reading with ',
        h('code', null, 'PUT /sensorsdata'),
        ' or import a file with ',
        h('code', null, 'airlake ingest'),
        '.',
      )
      return
    }
    const now = Date.now()
    const stale = devices.filter((d) => freshness(d.lastSeen, now) === 'stale').length
    const live = devices.filter((d) => freshness(d.lastSeen, now) === 'live').length
    replace(
      summary,
      `${devices.length} device${devices.length === 1 ? '' : 's'} · ${live} live`,
      stale > 0 ? h('span', { class: 'badge badge-stale' }, `${stale} stale`) : null,
    )
  }

  const renderRow = (row: Row) => {
    const { device } = row
    const state = freshness(device.lastSeen)
    const measures = [...device.latest.entries()].sort(([a], [b]) => measureOrder(a) - measureOrder(b))
    replace(
      row.element,
      h(
        'a',
        { class: 'device-link', href: `#/device/${encodeURIComponent(device.id)}` },
        h(
          'div',
          { class: 'device-name' },
          h('span', { class: `dot dot-${state}`, title: state }),
          h('strong', null, device.name ?? device.id),
          device.name ? h('span', { class: 'mono muted small' }, device.id) : null,
        ),
        h(
          'div',
          { class: 'device-meta' },
          device.source ? h('span', { class: 'badge' }, device.source) : null,
          h(
            'span',
            {
              class: `age age-${state}`,
              title: device.lastSeen ? new Date(device.lastSeen).toISOString() : '',
            },
            device.lastSeen ? formatAge(device.lastSeen) : 'no readings yet',
          ),
          state === 'stale' && device.lastSeen ? h('span', { class: 'badge badge-stale' }, 'stale') : null,
        ),
        h(
          'div',
          { class: 'device-values' },
          measures
            .slice(0, 6)
            .map(([measure, latest]) =>
              h(
                'span',
                { class: 'value-chip' },
                h('span', { class: 'muted' }, measureLabel(measure)),
                ' ',
                formatValue(latest.value, measure),
              ),
            ),
        ),
        h(
          'div',
          {
            class: 'device-spark',
            title: row.spark.measure
              ? `${measureLabel(row.spark.measure)}, last ${row.spark.values.length} readings`
              : '',
          },
          sparkline(row.spark.times, row.spark.values),
          row.spark.measure ? h('span', { class: 'muted small' }, measureLabel(row.spark.measure)) : null,
        ),
      ),
    )
  }

  const addDevice = (device: DeviceSummary, isNew: boolean): Row => {
    const existing = rows.get(device.id)
    if (existing) return existing
    const row: Row = {
      device,
      element: h('div', {
        class: `device-row${isNew ? ' is-new' : ''}`,
        role: 'listitem',
        dataset: { device: device.id },
      }),
      spark: { times: [], values: [] },
    }
    rows.set(device.id, row)
    const sorted = [...rows.values()].sort((a, b) => label(a.device).localeCompare(label(b.device)))
    const next = sorted[sorted.indexOf(row) + 1]
    list.insertBefore(row.element, next?.element ?? null)
    renderRow(row)
    refreshSummary()
    return row
  }

  /** The device's newest readings (one page, up to an hour at one a minute): last values, last seen, sparkline. */
  const loadRecent = async (row: Row) => {
    const table = await ctx.api.table(
      '/sensorsdata',
      { device: row.device.id, limit: SPARK_POINTS },
      { maxPages: 1 },
    )
    if (disposed) return
    const newest = table.times[table.times.length - 1]
    if (newest !== undefined && (row.device.lastSeen === undefined || newest > row.device.lastSeen))
      row.device.lastSeen = newest
    for (const [m, col] of table.columns) {
      for (let i = col.length - 1; i >= 0; i--) {
        const v = col[i]
        if (v === null || v === undefined) continue
        const t = table.times[i]!
        if ((row.device.latest.get(m)?.time ?? -1) <= t) row.device.latest.set(m, { time: t, value: v })
        break
      }
    }
    const measure = pickMeasure([...table.columns.keys()])
    if (measure) {
      const values = table.columns.get(measure) ?? []
      const times: number[] = []
      const ys: number[] = []
      values.forEach((v, i) => {
        if (v !== null) {
          times.push(table.times[i]!)
          ys.push(v)
        }
      })
      row.spark = { times, values: ys, measure }
    }
    renderRow(row)
    refreshSummary()
  }

  const pending = new Set<Row>()
  const flush = perFrame(() => {
    for (const row of pending) renderRow(row)
    pending.clear()
    refreshSummary()
  })

  // A new device, or a batch of which the feed carried only the newest minute: read its recent history.
  const stale = new Set<Row>()
  const reloadStale = debounce(() => {
    for (const row of stale) void loadRecent(row).catch(() => {})
    stale.clear()
  }, 1000)

  const onReadings = (message: unknown) => {
    const { readings, complete } = readingsFromEvent(message)
    for (const r of readings) {
      let row = rows.get(r.deviceId)
      if (!row) {
        row = addDevice({ id: r.deviceId, source: r.source, latest: new Map() }, true)
        stale.add(row)
      } else if (!complete) {
        stale.add(row)
      }
      const device = row.device
      if (!device.source && r.source) device.source = r.source
      if ((device.latest.get(r.measure)?.time ?? -1) <= r.time)
        device.latest.set(r.measure, { time: r.time, value: r.value })
      if (device.lastSeen === undefined || r.time > device.lastSeen) device.lastSeen = r.time
      if (device.firstSeen === undefined || r.time < device.firstSeen) device.firstSeen = r.time
      row.spark.measure ??= pickMeasure([...device.latest.keys()])
      if (r.measure === row.spark.measure) appendPoint(row.spark, r.time, r.value)
      pending.add(row)
    }
    flush()
    if (stale.size > 0) reloadStale()
  }

  const onDevice = (message: unknown) => {
    const device = deviceFromEvent(message)
    if (device && !rows.has(device.id)) {
      stale.add(addDevice(device, true))
      reloadStale()
    }
  }

  const unsubscribe = [ctx.live.on('readings', onReadings), ctx.live.on('devices', onDevice)]
  const ticker = setInterval(() => {
    for (const row of rows.values()) pending.add(row)
    flush()
  }, 15_000)

  loadDevices(ctx.api, { deviceRoute: ctx.has('GET /devices') }).then(
    async (devices) => {
      if (disposed) return
      for (const device of devices) addDevice(device, false)
      refreshSummary()
      const targets = [...rows.values()].slice(0, MAX_SPARKLINES)
      for (const row of targets) {
        if (disposed) return
        await loadRecent(row).catch(() => {})
      }
    },
    (error) => {
      replace(summary, h('span', { class: 'error-text' }, `Could not load devices: ${errorMessage(error)}`))
    },
  )

  return {
    title: 'Devices',
    element,
    dispose: () => {
      disposed = true
      reloadStale.cancel()
      clearInterval(ticker)
      for (const off of unsubscribe) off()
    },
  }
}

function label(device: DeviceSummary): string {
  return (device.name ?? device.id).toLowerCase()
}

function pickMeasure(measures: string[]): string | undefined {
  return PREFERRED.find((m) => measures.includes(m)) ?? measures.sort()[0]
}

function measureOrder(measure: string): number {
  const order = ['iaq', 'co2', 'voc', 'temperature', 'humidity', 'pressure']
  const i = order.indexOf(measure)
  return i < 0 ? order.length : i
}

/** Keeps the newest readings, in time order, replacing a repeated time (a repeated reading replaces the value). */
function appendPoint(spark: { times: number[]; values: number[] }, time: number, value: number): void {
  const i = spark.times.indexOf(time)
  if (i >= 0) {
    spark.values[i] = value
    return
  }
  let at = spark.times.length
  while (at > 0 && spark.times[at - 1]! > time) at--
  spark.times.splice(at, 0, time)
  spark.values.splice(at, 0, value)
  while (spark.times.length > SPARK_POINTS) {
    spark.times.shift()
    spark.values.shift()
  }
}
