/**
 * Pipelines: runs with their stages, status, duration and logs (live), starting a training run, the
 * data quality report and CSV export downloads.
 */
import { errorMessage } from '../api.js'
import type { Context, View } from '../context.js'
import { loadDevices, loadRun, loadRunLogs, loadRuns, type Run } from '../data.js'
import { debounce, h, replace } from '../dom.js'
import { bytes, formatAge, formatDuration, formatTime, formatValue } from '../format.js'

const ALGORITHMS = ['persistence', 'seasonal-naive', 'ridge', 'xgboost', 'mlp', 'lstm']
const DEFAULT_ALGORITHMS = new Set(['persistence', 'ridge'])

export function pipelinesView(ctx: Context): View {
  let disposed = false
  let openRun: string | undefined
  const runsBody = h('tbody')
  const runsNote = h('p', { class: 'muted' }, 'Loading runs…')
  const detail = h('div', { class: 'run-detail', hidden: true })
  const quality = h('div', null, h('p', { class: 'muted' }, 'Loading the quality report…'))

  const element = h(
    'section',
    { class: 'page' },
    h(
      'div',
      { class: 'page-head' },
      h('div', null, h('h1', null, 'Pipelines'), h('p', { class: 'muted' }, 'Runs, training, data quality and exports.')),
    ),
    h(
      'div',
      { class: 'two-col wide-left' },
      h(
        'article',
        { class: 'card' },
        h('div', { class: 'card-head' }, h('h2', null, 'Runs')),
        runsNote,
        h(
          'div',
          { class: 'table-wrap' },
          h(
            'table',
            { class: 'runs clickable' },
            h(
              'thead',
              null,
              h(
                'tr',
                null,
                h('th', null, 'Run'),
                h('th', null, 'Kind'),
                h('th', null, 'Status'),
                h('th', null, 'Stages'),
                h('th', null, 'Started'),
                h('th', { class: 'num' }, 'Duration'),
              ),
            ),
            runsBody,
          ),
        ),
        detail,
      ),
      h('div', { class: 'stack' }, trainForm(ctx, (id) => void showRun(id)), exportForm(ctx)),
    ),
    h('article', { class: 'card' }, h('div', { class: 'card-head' }, h('h2', null, 'Data quality')), quality),
  )

  const renderRuns = async () => {
    let runs: Run[]
    try {
      runs = await loadRuns(ctx.api)
    } catch (error) {
      replace(runsNote, h('span', { class: 'error-text' }, `Could not load runs: ${errorMessage(error)}`))
      return
    }
    if (disposed) return
    runsNote.textContent = runs.length === 0 ? 'No runs yet: start a training run.' : ''
    runsNote.hidden = runs.length > 0
    replace(
      runsBody,
      runs.map((run) =>
        h(
          'tr',
          {
            tabindex: 0,
            class: run.id === openRun ? 'selected' : '',
            dataset: { run: run.id },
            on: {
              click: () => void showRun(run.id),
              keydown: (e) => e.key === 'Enter' && void showRun(run.id),
            },
          },
          h('td', { class: 'mono', title: run.id }, shortId(run.id)),
          h('td', null, run.kind),
          h('td', null, statusBadge(run.status)),
          h('td', null, h('div', { class: 'stages' }, run.steps.map((s) => h('span', { class: `stage stage-${s.status}`, title: `${s.name}: ${s.status}` })))),
          h('td', { class: 'muted nowrap' }, formatAge(run.startedAt ?? run.createdAt ?? Date.now())),
          h('td', { class: 'num' }, duration(run.startedAt, run.endedAt)),
        ),
      ),
    )
  }

  const showRun = async (id: string) => {
    openRun = id
    for (const tr of runsBody.querySelectorAll('tr')) tr.classList.toggle('selected', tr.dataset.run === id)
    detail.hidden = false
    try {
      const [run, logs] = await Promise.all([loadRun(ctx.api, id), loadRunLogs(ctx.api, id)])
      if (disposed || openRun !== id) return
      replace(
        detail,
        h(
          'div',
          { class: 'card-head' },
          h('h3', null, `${run.kind} `, h('span', { class: 'mono muted' }, run.id)),
          statusBadge(run.status),
          h('button', { type: 'button', class: 'ghost small', on: { click: () => closeRun() } }, 'Close'),
        ),
        run.error ? h('p', { class: 'error-text' }, run.error) : null,
        Object.keys(run.params).length > 0
          ? h('p', { class: 'muted small' }, Object.entries(run.params).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join('  '))
          : null,
        h(
          'ol',
          { class: 'steps' },
          run.steps.map((s) =>
            h(
              'li',
              { class: `step step-${s.status}` },
              h('span', { class: `stage stage-${s.status}` }),
              h('strong', null, s.name),
              h('span', { class: 'muted' }, s.status),
              h('span', { class: 'muted num' }, duration(s.startedAt, s.endedAt)),
              s.error ? h('div', { class: 'error-text small' }, s.error) : null,
              s.outputs && Object.keys(s.outputs).length > 0 ? h('div', { class: 'muted small mono' }, summarise(s.outputs)) : null,
            ),
          ),
        ),
        Object.keys(run.metrics).length > 0
          ? h(
              'div',
              { class: 'metrics' },
              Object.entries(run.metrics)
                .filter(([k]) => !/_h\d+$/.test(k))
                .slice(0, 12)
                .map(([k, v]) => h('span', { class: 'value-chip' }, h('span', { class: 'muted' }, k), ' ', formatValue(v))),
            )
          : null,
        h('h4', null, 'Logs'),
        h(
          'pre',
          { class: 'logs', tabindex: 0 },
          logs.length === 0
            ? 'No log lines.'
            : logs.map((l) =>
                h(
                  'div',
                  { class: `log log-${l.level}` },
                  h('span', { class: 'muted' }, l.time ? new Date(l.time).toLocaleTimeString() : ''),
                  ` ${l.level.padEnd(5)} ${l.message}`,
                ),
              ),
        ),
      )
      const pre = detail.querySelector('pre')
      if (pre) pre.scrollTop = pre.scrollHeight
    } catch (error) {
      if (openRun === id) replace(detail, h('p', { class: 'error-text' }, `Could not load run ${id}: ${errorMessage(error)}`))
    }
  }
  const closeRun = () => {
    openRun = undefined
    detail.hidden = true
    for (const tr of runsBody.querySelectorAll('tr')) tr.classList.remove('selected')
  }

  const renderQuality = async () => {
    try {
      const report = await ctx.api.get<unknown>('/quality')
      if (!disposed) replace(quality, qualityReport(report))
    } catch (error) {
      replace(quality, h('p', { class: 'error-text' }, `Could not load the quality report: ${errorMessage(error)}`))
    }
  }

  const reloadRuns = debounce(() => void renderRuns(), 300)
  const unsubscribe = ctx.live.on('runs', (message) => {
    reloadRuns()
    const runId = (message as { runId?: string }).runId
    if (runId && runId === openRun) void showRun(runId)
  })
  void renderRuns()
  void renderQuality()

  return {
    title: 'Pipelines',
    element,
    dispose: () => {
      disposed = true
      reloadRuns.cancel()
      unsubscribe()
    },
  }
}

function trainForm(ctx: Context, onStarted: (id: string) => void): HTMLElement {
  const device = h('select', { name: 'device', required: true }, h('option', { value: '' }, 'Loading devices…'))
  const measure = h('input', { name: 'measure', value: 'iaq', required: true, autocomplete: 'off' })
  const algorithms = ALGORITHMS.map((a) =>
    h('label', { class: 'check' }, h('input', { type: 'checkbox', value: a, checked: DEFAULT_ALGORITHMS.has(a) }), a),
  )
  const button = h('button', { type: 'submit', class: 'primary' }, 'Start training')
  const form = h(
    'form',
    { class: 'card form' },
    h('h2', null, 'Train'),
    h('label', null, 'Device', device),
    h('label', null, 'Measure', measure),
    h('fieldset', null, h('legend', null, 'Models'), h('div', { class: 'checks' }, algorithms)),
    button,
  )
  loadDevices(ctx.api).then(
    (devices) => {
      replace(
        device,
        devices.length === 0 ? h('option', { value: '' }, 'No devices yet') : devices.map((d) => h('option', { value: d.id }, d.name ? `${d.name} (${d.id})` : d.id)),
      )
    },
    (error) => replace(device, h('option', { value: '' }, `Could not load devices: ${errorMessage(error)}`)),
  )
  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    const models = algorithms.map((l) => l.querySelector('input')!).filter((i) => i.checked).map((i) => i.value)
    if (!device.value) return ctx.notify('Choose a device to train on.', 'error')
    if (models.length === 0) return ctx.notify('Choose at least one model.', 'error')
    button.disabled = true
    try {
      const body = { kind: 'train', device: device.value, measure: measure.value.trim(), models }
      const answer = await ctx.api.post<{ id?: string; runId?: string; run?: { id?: string } }>('/runs', body)
      const id = answer?.id ?? answer?.runId ?? answer?.run?.id
      ctx.notify(`Training started${id ? ` (${shortId(id)})` : ''}.`, 'success')
      if (id) onStarted(id)
    } catch (error) {
      ctx.notify(`Could not start training: ${errorMessage(error)}`, 'error')
    } finally {
      button.disabled = false
    }
  })
  return form
}

function exportForm(ctx: Context): HTMLElement {
  const source = h('input', { name: 'source', value: 'http', required: true, autocomplete: 'off' })
  const days = h('input', { name: 'days', type: 'number', min: 1, max: 366, value: 7, required: true })
  const button = h('button', { type: 'submit' }, 'Download CSV')
  const form = h(
    'form',
    { class: 'card form' },
    h('h2', null, 'Export'),
    h('p', { class: 'muted small' }, 'Readings of one source over the last days, as the seed’s raw.csv.'),
    h('div', { class: 'inline' }, h('label', null, 'Source', source), h('label', null, 'Days', days)),
    button,
  )
  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    button.disabled = true
    try {
      const file = await ctx.api.download(
        '/exports',
        { source: source.value.trim(), days: days.value, format: 'csv' },
        `${source.value.trim()}-${days.value}-days.csv`,
      )
      ctx.notify(`Downloaded ${file.name} (${bytes(file.bytes)}).`, 'success')
    } catch (error) {
      ctx.notify(`Export failed: ${errorMessage(error)}`, 'error')
    } finally {
      button.disabled = false
    }
  })
  return form
}

/** The quality report as tables: its scalar fields as a summary, each list of objects as a table. */
function qualityReport(report: unknown): HTMLElement {
  if (report === null || typeof report !== 'object') return h('p', { class: 'muted' }, 'No quality report yet.')
  const entries = Object.entries(report as Record<string, unknown>)
  const scalars = entries.filter(([, v]) => v === null || typeof v !== 'object')
  const tables = entries.filter(([, v]) => Array.isArray(v) && v.length > 0 && typeof v[0] === 'object')
  const objects = entries.filter(([, v]) => v !== null && typeof v === 'object' && !Array.isArray(v))
  return h(
    'div',
    { class: 'quality' },
    scalars.length > 0
      ? h(
          'dl',
          { class: 'facts' },
          scalars.map(([k, v]) => [h('dt', null, humanise(k)), h('dd', null, formatScalar(k, v))]),
        )
      : null,
    objects.map(([k, v]) => h('div', null, h('h4', null, humanise(k)), qualityReport(v))),
    tables.map(([k, v]) => {
      const rows = v as Array<Record<string, unknown>>
      const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))].filter((c) => {
        const sample = rows.find((r) => r[c] !== undefined)?.[c]
        return sample === null || typeof sample !== 'object'
      })
      return h(
        'div',
        null,
        h('h4', null, humanise(k)),
        h(
          'div',
          { class: 'table-wrap' },
          h(
            'table',
            null,
            h('thead', null, h('tr', null, columns.map((c) => h('th', null, humanise(c))))),
            h(
              'tbody',
              null,
              rows.slice(0, 200).map((r) =>
                h(
                  'tr',
                  { class: r.status === 'fail' || r.passed === false || r.ok === false ? 'bad' : '' },
                  columns.map((c) => h('td', null, formatScalar(c, r[c]))),
                ),
              ),
            ),
          ),
        ),
      )
    }),
  )
}

function formatScalar(key: string, value: unknown): HTMLElement | string {
  if (value === null || value === undefined) return '–'
  if (typeof value === 'boolean') return statusBadge(value ? 'pass' : 'fail')
  if (typeof value === 'number') {
    if (/(^|_)(at|time)$|At$|Time$/.test(key) && value > 1e11) return formatTime(value)
    return formatValue(value)
  }
  const text = String(value)
  if (/^(pass|passed|ok|warn|warning|fail|failed|error)$/i.test(text)) return statusBadge(text.toLowerCase())
  return text
}

function statusBadge(status: string): HTMLElement {
  return h('span', { class: `status status-${status}` }, status)
}

function duration(start?: number, end?: number): string {
  if (start === undefined) return '–'
  return formatDuration((end ?? Date.now()) - start)
}

function shortId(id: string): string {
  return id.length > 12 ? `${id.slice(0, 8)}…` : id
}

function humanise(key: string): string {
  const words = key.replace(/([a-z])([A-Z])/g, '$1 $2').replace(/[_-]/g, ' ')
  return words.charAt(0).toUpperCase() + words.slice(1).toLowerCase()
}

function summarise(outputs: Record<string, unknown>): string {
  return Object.entries(outputs)
    .slice(0, 8)
    .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v).slice(0, 60) : String(v)}`)
    .join('  ')
}
