/**
 * The evaluation report of a training run: one self-contained HTML file (no scripts, no external files)
 * with the metrics table, the error by horizon per model and an example forecast against the actuals,
 * drawn as inline SVG. The exact metrics are embedded as JSON (`<script type="application/json"
 * id="airlake-metrics">`) so tools can check them against the registry.
 */

import type { Evaluation } from './evaluate.js'
import { formatStep } from './time-series.js'

export interface ReportInput {
  runId: string
  deviceId: string
  measure: string
  window: number
  horizon: number
  stepMs: number
  snapshotId: string
  createdAt: number
  counts: { train: number; validation: number; test: number; dropped: number }
  evaluation: Evaluation
  /** Registered `<model>@<version>` per algorithm, when registered. */
  versions?: Record<string, string> | undefined
}

const PALETTE = [
  '#1f77b4',
  '#d62728',
  '#2ca02c',
  '#9467bd',
  '#ff7f0e',
  '#8c564b',
  '#e377c2',
  '#17becf',
  '#7f7f7f',
]

/** Formats a metric for the table: 4 significant digits (the embedded JSON keeps every digit). */
export function formatMetric(value: number): string {
  return Number.isFinite(value) ? Number(value.toPrecision(4)).toString() : '–'
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

interface Line {
  name: string
  color: string
  points: Array<[number, number]>
  dashed?: boolean
}

/** A line chart as SVG: axes with a few ticks, one polyline per series, a legend. */
function lineChart(
  lines: Line[],
  options: { title: string; xLabel: string; yLabel: string; markX?: number },
): string {
  const width = 720
  const height = 320
  const pad = { left: 64, right: 170, top: 32, bottom: 44 }
  const all = lines.flatMap((l) => l.points).filter(([, y]) => Number.isFinite(y))
  if (all.length === 0) return ''
  let [xMin, xMax] = [Math.min(...all.map((p) => p[0])), Math.max(...all.map((p) => p[0]))]
  let [yMin, yMax] = [Math.min(...all.map((p) => p[1])), Math.max(...all.map((p) => p[1]))]
  if (xMax === xMin) [xMin, xMax] = [xMin - 1, xMax + 1]
  if (yMax === yMin) [yMin, yMax] = [yMin - 1, yMax + 1]
  const margin = (yMax - yMin) * 0.05
  yMin -= margin
  yMax += margin
  const sx = (x: number) => pad.left + ((x - xMin) / (xMax - xMin)) * (width - pad.left - pad.right)
  const sy = (y: number) =>
    height - pad.bottom - ((y - yMin) / (yMax - yMin)) * (height - pad.top - pad.bottom)
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeHtml(options.title)}">`,
    `<text x="${pad.left}" y="20" font-size="14" font-weight="bold">${escapeHtml(options.title)}</text>`,
    `<line x1="${pad.left}" y1="${height - pad.bottom}" x2="${width - pad.right}" y2="${height - pad.bottom}" stroke="#444"/>`,
    `<line x1="${pad.left}" y1="${pad.top}" x2="${pad.left}" y2="${height - pad.bottom}" stroke="#444"/>`,
  ]
  for (let k = 0; k <= 4; k++) {
    const y = yMin + ((yMax - yMin) * k) / 4
    // Steps are whole numbers: label them so.
    const x = Math.round(xMin + ((xMax - xMin) * k) / 4)
    parts.push(
      `<line x1="${pad.left}" y1="${sy(y).toFixed(1)}" x2="${width - pad.right}" y2="${sy(y).toFixed(1)}" stroke="#eee"/>`,
      `<text x="${pad.left - 6}" y="${(sy(y) + 4).toFixed(1)}" font-size="11" text-anchor="end">${formatMetric(y)}</text>`,
      `<text x="${sx(x).toFixed(1)}" y="${height - pad.bottom + 16}" font-size="11" text-anchor="middle">${formatMetric(x)}</text>`,
    )
  }
  parts.push(
    `<text x="${(pad.left + width - pad.right) / 2}" y="${height - 8}" font-size="12" text-anchor="middle">${escapeHtml(options.xLabel)}</text>`,
    `<text x="14" y="${(pad.top + height - pad.bottom) / 2}" font-size="12" text-anchor="middle" transform="rotate(-90 14 ${(pad.top + height - pad.bottom) / 2})">${escapeHtml(options.yLabel)}</text>`,
  )
  if (options.markX !== undefined) {
    parts.push(
      `<line x1="${sx(options.markX).toFixed(1)}" y1="${pad.top}" x2="${sx(options.markX).toFixed(1)}" y2="${height - pad.bottom}" stroke="#999" stroke-dasharray="4 3"/>`,
    )
  }
  lines.forEach((line, i) => {
    const points = line.points.filter(([, y]) => Number.isFinite(y))
    const path = points.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ')
    parts.push(
      `<polyline fill="none" stroke="${line.color}" stroke-width="${line.dashed ? 1.5 : 2}"${line.dashed ? ' stroke-dasharray="5 3"' : ''} points="${path}"/>`,
      `<line x1="${width - pad.right + 12}" y1="${pad.top + 8 + i * 18}" x2="${width - pad.right + 32}" y2="${pad.top + 8 + i * 18}" stroke="${line.color}" stroke-width="2"${line.dashed ? ' stroke-dasharray="5 3"' : ''}/>`,
      `<text x="${width - pad.right + 38}" y="${pad.top + 12 + i * 18}" font-size="12">${escapeHtml(line.name)}</text>`,
    )
  })
  parts.push('</svg>')
  return parts.join('\n')
}

/** Renders the report. Deterministic: the same input gives the same bytes. */
export function renderReport(input: ReportInput): string {
  const { evaluation } = input
  const step = formatStep(input.stepMs)
  const seasonal = evaluation.models.find((m) => m.algorithm === 'seasonal-naive')
  const persistence = evaluation.models.find((m) => m.algorithm === 'persistence')
  const colors = new Map(evaluation.models.map((m, i) => [m.algorithm, PALETTE[i % PALETTE.length]!]))
  const best = evaluation.models
    .filter((m) => m.role === 'candidate')
    .reduce<(typeof evaluation.models)[number] | undefined>(
      (b, m) => (b === undefined || m.metrics.mae < b.metrics.mae ? m : b),
      undefined,
    )

  const rows = evaluation.models
    .map((m) => {
      const ratio = (base: typeof seasonal) => (base ? formatMetric(m.metrics.mae / base.metrics.mae) : '–')
      return `<tr${m === best ? ' class="best"' : ''}><td>${escapeHtml(m.algorithm)}</td><td>${m.role}</td><td>${escapeHtml(input.versions?.[m.algorithm] ?? '')}</td><td>${formatMetric(m.metrics.mae)}</td><td>${formatMetric(m.metrics.rmse)}</td><td>${formatMetric(m.metrics.smape)}</td><td>${ratio(persistence)}</td><td>${ratio(seasonal)}</td></tr>`
    })
    .join('\n')
  const horizonHeader = Array.from({ length: evaluation.horizon }, (_, h) => `<th>h${h + 1}</th>`).join('')
  const horizonRows = evaluation.models
    .map(
      (m) =>
        `<tr><td>${escapeHtml(m.algorithm)}</td>${m.metrics.maeByHorizon.map((v) => `<td>${formatMetric(v)}</td>`).join('')}</tr>`,
    )
    .join('\n')

  const errorChart = lineChart(
    evaluation.models.map((m) => ({
      name: m.algorithm,
      color: colors.get(m.algorithm)!,
      dashed: m.role === 'baseline',
      points: m.metrics.maeByHorizon.map((v, h) => [h + 1, v] as [number, number]),
    })),
    { title: 'MAE by horizon', xLabel: `steps ahead (1 step = ${step})`, yLabel: `MAE (${input.measure})` },
  )
  const { example } = evaluation
  const shown = Math.min(example.inputs.length, Math.max(3 * evaluation.horizon, 24))
  const history = example.inputs
    .slice(example.inputs.length - shown)
    .map((v, i) => [i - shown + 1, v] as [number, number])
  const actual: Array<[number, number]> = [
    history[history.length - 1]!,
    ...example.actuals.map((v, h) => [h + 1, v] as [number, number]),
  ]
  const exampleChart = lineChart(
    [
      { name: 'actual', color: '#000', points: [...history, ...actual.slice(1)] },
      ...evaluation.models.map((m) => ({
        name: m.algorithm,
        color: colors.get(m.algorithm)!,
        dashed: m.role === 'baseline',
        points: [history[history.length - 1]!, ...m.example.map((v, h) => [h + 1, v] as [number, number])],
      })),
    ],
    {
      title: `Example forecast from ${Number.isFinite(example.timeMs) ? new Date(example.timeMs).toISOString() : `test window ${example.index}`}`,
      xLabel: `steps from the forecast time (1 step = ${step})`,
      yLabel: input.measure,
      markX: 0,
    },
  )
  const embedded = JSON.stringify(
    Object.fromEntries(evaluation.models.map((m) => [m.algorithm, { role: m.role, ...m.metrics }])),
  ).replace(/</g, '\\u003c')

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>airlake run ${escapeHtml(input.runId)}: ${escapeHtml(input.deviceId)} ${escapeHtml(input.measure)}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; max-width: 980px; }
table { border-collapse: collapse; margin: 1rem 0; font-size: 14px; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
tr.best { background: #eef7ee; font-weight: bold; }
#metrics td:nth-child(3) { white-space: nowrap; text-align: left; }
.scroll { overflow-x: auto; }
dl { display: grid; grid-template-columns: max-content auto; gap: 2px 12px; }
dt { font-weight: bold; }
</style>
</head>
<body>
<h1>Evaluation of run ${escapeHtml(input.runId)}</h1>
<dl>
<dt>series</dt><dd>${escapeHtml(input.deviceId)} / ${escapeHtml(input.measure)}, one value per ${step}</dd>
<dt>signature</dt><dd>(-1, ${input.window}) → (-1, ${input.horizon})</dd>
<dt>gold snapshot</dt><dd>${escapeHtml(input.snapshotId)}</dd>
<dt>windows</dt><dd>train ${input.counts.train}, validation ${input.counts.validation}, test ${input.counts.test}; ${input.counts.dropped} dropped across long gaps</dd>
<dt>created</dt><dd>${new Date(input.createdAt).toISOString()}</dd>
</dl>
<h2>Test metrics (${evaluation.windows} windows, the same for every model)</h2>
<table id="metrics">
<thead><tr><th>model</th><th>role</th><th>registered as</th><th>MAE</th><th>RMSE</th><th>sMAPE %</th><th>MAE / persistence</th><th>MAE / seasonal naive</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>
${errorChart}
<h2>MAE per horizon step</h2>
<div class="scroll"><table id="mae-by-horizon">
<thead><tr><th>model</th>${horizonHeader}</tr></thead>
<tbody>
${horizonRows}
</tbody>
</table></div>
<h2>Example forecast</h2>
${exampleChart}
<script type="application/json" id="airlake-metrics">${embedded}</script>
</body>
</html>
`
}
