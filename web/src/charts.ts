/**
 * Charts: uPlot (about 50 KB, draws 100k points in a few ms) for the time series and metrics, a tiny
 * SVG polyline for sparklines. Charts follow their container's width and the page's theme.
 */
import uPlot from 'uplot'
import 'uplot/dist/uPlot.min.css'
import { svg } from './dom.js'

export interface SeriesSpec {
  label: string
  color: string
  width?: number
  dash?: number[]
  /** Draw each point (sparse series such as rewards). */
  points?: boolean
  /** Points only, no line. */
  pointsOnly?: boolean
  /** Join across missing values (forecast paths are sampled sparsely). */
  spanGaps?: boolean
  fill?: string
  /** Hold each value until the next (a state over time, such as the arm served). */
  stepped?: boolean
}

export interface ChartOptions {
  series: SeriesSpec[]
  height: number
  /** x is epoch ms (default) or a plain number (horizon steps). */
  xKind?: 'time' | 'number'
  xLabel?: string
  yLabel?: string
  /** Fixed x range; otherwise the data's. */
  xRange?: () => [number, number] | undefined
  /** Draws a vertical "now" line at this time and shades what lies after it. */
  now?: () => number | undefined
  nowLabel?: () => string
  /** Format of y values in the legend and axis. */
  formatY?: (value: number) => string
  /** Fixed y range; otherwise the data's, padded. */
  yRange?: [number, number]
  /** Distance between y ticks (e.g. 1 for categories drawn as 0, 1, 2…). */
  yStep?: number
  /** Width of the y axis in px (default 56), for long tick labels. */
  yAxisSize?: number
}

export interface Chart {
  setData(data: uPlot.AlignedData): void
  redraw(): void
  destroy(): void
  readonly element: HTMLElement
}

const stepped = uPlot.paths.stepped?.({ align: 1 })

const AXIS = { stroke: '#8b98a9', grid: 'rgba(148, 163, 184, 0.12)', tick: 'rgba(148, 163, 184, 0.25)' }

/** A line chart in `container` that resizes with it. */
export function createChart(container: HTMLElement, options: ChartOptions): Chart {
  const formatY = options.formatY ?? ((v: number) => trimNumber(v))
  const isTime = (options.xKind ?? 'time') === 'time'
  const width = Math.max(200, container.clientWidth || 600)
  const opts: uPlot.Options = {
    width,
    height: options.height,
    ms: 1,
    cursor: { drag: { x: false, y: false }, points: { size: 6 } },
    legend: { live: true },
    scales: {
      x: {
        time: isTime,
        range: (_u, min, max) => options.xRange?.() ?? [min, max],
      },
      y: {
        range: (_u, min, max) => {
          if (options.yRange) return options.yRange
          if (min === max) return [min - 1, max + 1]
          const pad = (max - min) * 0.08
          return [min - pad, max + pad]
        },
      },
    },
    axes: [
      {
        stroke: AXIS.stroke,
        grid: { stroke: AXIS.grid, width: 1 },
        ticks: { stroke: AXIS.tick, width: 1 },
        label: options.xLabel,
        labelSize: options.xLabel ? 22 : 0,
        ...(isTime ? {} : { values: (_u: uPlot, splits: number[]) => splits.map((s) => `+${s}`) }),
      },
      {
        stroke: AXIS.stroke,
        grid: { stroke: AXIS.grid, width: 1 },
        ticks: { stroke: AXIS.tick, width: 1 },
        size: options.yAxisSize ?? 56,
        ...(options.yStep ? { incrs: [options.yStep] } : {}),
        label: options.yLabel,
        labelSize: options.yLabel ? 22 : 0,
        values: (_u, splits) => splits.map((s) => formatY(s)),
      },
    ],
    series: [
      isTime
        ? { label: 'time' }
        : { label: options.xLabel ?? 'x', value: (_u, v) => (v == null ? '–' : `+${v}`) },
      ...options.series.map(
        (s): uPlot.Series => ({
          label: s.label,
          stroke: s.color,
          width: s.pointsOnly ? 0 : (s.width ?? 1.5),
          dash: s.dash,
          fill: s.fill,
          spanGaps: s.spanGaps ?? false,
          points: s.pointsOnly
            ? { show: true, size: 5, stroke: s.color, fill: s.color }
            : { show: s.points ?? false, size: 4, stroke: s.color, fill: s.color },
          paths: s.pointsOnly ? () => null : s.stepped ? stepped : undefined,
          value: (_u, v) => (v == null ? '–' : formatY(v)),
        }),
      ),
    ],
    hooks: options.now ? { draw: [(u) => drawNow(u, options.now!(), options.nowLabel?.() ?? 'now')] } : {},
  }
  const plot = new uPlot(opts, [[], ...options.series.map(() => [])], container)
  const observer = new ResizeObserver(() => {
    const next = Math.max(200, container.clientWidth)
    if (next !== plot.width) plot.setSize({ width: next, height: options.height })
  })
  observer.observe(container)
  return {
    element: plot.root,
    setData: (data) => plot.setData(data, true),
    redraw: () => plot.redraw(true, true),
    destroy: () => {
      observer.disconnect()
      plot.destroy()
    },
  }
}

function drawNow(u: uPlot, now: number | undefined, label: string): void {
  if (now === undefined) return
  const { left, top, width, height } = u.bbox
  const x = Math.round(u.valToPos(now, 'x', true))
  if (x < left || x > left + width) return
  const ctx = u.ctx
  const ratio = devicePixelRatio || 1
  ctx.save()
  ctx.fillStyle = 'rgba(251, 191, 36, 0.06)'
  ctx.fillRect(x, top, left + width - x, height)
  ctx.strokeStyle = 'rgba(251, 191, 36, 0.9)'
  ctx.lineWidth = ratio
  ctx.setLineDash([4 * ratio, 3 * ratio])
  ctx.beginPath()
  ctx.moveTo(x + 0.5, top)
  ctx.lineTo(x + 0.5, top + height)
  ctx.stroke()
  ctx.setLineDash([])
  ctx.font = `${11 * ratio}px system-ui, sans-serif`
  ctx.fillStyle = 'rgba(251, 191, 36, 1)'
  ctx.textBaseline = 'top'
  const textWidth = ctx.measureText(label).width
  const textX = x + 4 * ratio + textWidth > left + width ? x - 4 * ratio - textWidth : x + 4 * ratio
  ctx.fillText(label, textX, top + 4 * ratio)
  ctx.restore()
}

function trimNumber(v: number): string {
  const abs = Math.abs(v)
  if (abs >= 1000) return v.toLocaleString(undefined, { maximumFractionDigits: 0 })
  if (abs >= 100) return v.toFixed(0)
  if (abs >= 10) return v.toFixed(1).replace(/\.0$/, '')
  if (abs >= 1) return v.toFixed(2).replace(/\.?0+$/, '')
  return v.toPrecision(2).replace(/\.?0+$/, '')
}

/** An SVG sparkline of `values` over `times` (ascending); an empty box when there is too little data. */
export function sparkline(
  times: number[],
  values: number[],
  options: { width?: number; height?: number } = {},
) {
  const width = options.width ?? 120
  const height = options.height ?? 28
  const root = svg('svg', {
    class: 'sparkline',
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    role: 'img',
    'aria-label':
      values.length > 1 ? `trend of the last ${values.length} readings` : 'not enough readings yet',
  })
  if (values.length < 2) return root
  const t0 = times[0]!
  const t1 = times[times.length - 1]!
  let min = Number.POSITIVE_INFINITY
  let max = Number.NEGATIVE_INFINITY
  for (const v of values) {
    if (v < min) min = v
    if (v > max) max = v
  }
  const span = max - min || 1
  const sx = (t: number) => (t1 === t0 ? width : ((t - t0) / (t1 - t0)) * (width - 4) + 2)
  const sy = (v: number) => height - 3 - ((v - min) / span) * (height - 6)
  const points = values.map((v, i) => `${sx(times[i]!).toFixed(1)},${sy(v).toFixed(1)}`).join(' ')
  root.appendChild(svg('polyline', { points, fill: 'none', stroke: 'currentColor', 'stroke-width': 1.5 }))
  const last = values[values.length - 1]!
  root.appendChild(svg('circle', { cx: sx(t1), cy: sy(last), r: 2.2, fill: 'currentColor' }))
  return root
}
