/**
 * Pipelines: runs with their stages, status, duration and logs (live), starting a training run, the
 * data quality report and CSV export downloads.
 */
import { errorMessage } from '../api.js'
import type { Context, View } from '../context.js'
import { loadDevices, loadRun, loadRuns } from '../data.js'
import { debounce, h, replace } from '../dom.js'
import { bytes, formatAge, formatDuration, formatTime, formatValue } from '../format.js'
import { loadSection, unavailableNotice } from '../notice.js'

/** The model kinds of `airlake train --models`; persistence and seasonal naive are always scored beside them. */
const ALGORITHMS = ['ridge', 'xgboost', 'mlp', 'lstm', 'persistence', 'seasonal-naive']
const DEFAULT_ALGORITHMS = new Set(['ridge'])

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
      h(
        'div',
        null,
        h('h1', null, 'Pipelines'),
        h('p', { class: 'muted' }, 'Runs, training, data quality and exports.'),
      ),
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
          { class: 'table-wrap', hidden: !ctx.has('GET /runs') },
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
                h('th', null, 'Series'),
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
      h(
        'div',
        { class: 'stack' },
        trainForm(ctx, (id) => void showRun(id)),
        exportForm(ctx),
      ),
    ),
    h(
      'article',
      { class: 'card', dataset: { part: 'quality' } },
      h('div', { class: 'card-head' }, h('h2', null, 'Data quality')),
      quality,
    ),
  )

  const renderRuns = async () => {
    const runs = await loadSection(
      ctx,
      runsNote,
      { what: 'The list of runs', route: 'GET /runs', failure: 'runs', tag: 'span' },
      () => loadRuns(ctx.api),
    )
    if (runs === undefined || disposed) return
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
          h('td', null, seriesName(str(run.params.deviceId), str(run.params.measure))),
          h('td', null, run.kind),
          h('td', null, statusBadge(run.status)),
          h(
            'td',
            null,
            h(
              'div',
              { class: 'stages' },
              run.steps.map((s) =>
                h('span', { class: `stage stage-${s.status}`, title: `${s.name}: ${s.status}` }),
              ),
            ),
          ),
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
      const { run, logs } = await loadRun(ctx.api, id)
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
          ? h(
              'p',
              { class: 'muted small' },
              Object.entries(run.params)
                .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
                .join('  '),
            )
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
              s.outputs && Object.keys(s.outputs).length > 0
                ? h('div', { class: 'muted small mono' }, summarise(s.outputs))
                : null,
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
                .map(([k, v]) =>
                  h('span', { class: 'value-chip' }, h('span', { class: 'muted' }, k), ' ', formatValue(v)),
                ),
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
      if (openRun === id)
        replace(detail, h('p', { class: 'error-text' }, `Could not load run ${id}: ${errorMessage(error)}`))
    }
  }
  const closeRun = () => {
    openRun = undefined
    detail.hidden = true
    for (const tr of runsBody.querySelectorAll('tr')) tr.classList.remove('selected')
  }

  const renderQuality = async () => {
    const report = await loadSection(
      ctx,
      quality,
      { what: 'The data quality report', route: 'GET /quality', failure: 'the quality report' },
      () => ctx.api.get<unknown>('/quality'),
    )
    if (report !== undefined && !disposed) replace(quality, qualityReport(report))
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
  if (!ctx.has('POST /runs')) return unavailableNotice('Starting a training run', 'POST /runs')
  const device = h(
    'select',
    { name: 'device', required: true },
    h('option', { value: '' }, 'Loading devices…'),
  )
  const measure = h('input', {
    name: 'measure',
    list: 'train-measures',
    required: true,
    autocomplete: 'off',
    placeholder: 'iaq',
  })
  const measures = h('datalist', { id: 'train-measures' })
  // The measures of the chosen device, from its newest reading, as suggestions (any name can be typed).
  const suggestMeasures = async () => {
    if (!device.value) return
    const newest = await ctx.api
      .table('/sensorsdata', { device: device.value, limit: 1 }, { maxPages: 1 })
      .catch(() => undefined)
    const names = [...(newest?.columns.keys() ?? [])].sort()
    replace(
      measures,
      names.map((name) => h('option', { value: name })),
    )
    if (!names.includes(measure.value)) measure.value = names.includes('iaq') ? 'iaq' : (names[0] ?? '')
  }
  device.addEventListener('change', () => void suggestMeasures())
  const algorithms = ALGORITHMS.map((a) =>
    h(
      'label',
      { class: 'check' },
      h('input', { type: 'checkbox', value: a, checked: DEFAULT_ALGORITHMS.has(a) }),
      a,
    ),
  )
  const button = h('button', { type: 'submit', class: 'primary' }, 'Start training')
  const form = h(
    'form',
    { class: 'card form' },
    h('h2', null, 'Train'),
    h('label', null, 'Device', device),
    h('label', null, 'Measure', measure, measures),
    h('fieldset', null, h('legend', null, 'Models'), h('div', { class: 'checks' }, algorithms)),
    button,
  )
  loadDevices(ctx.api, { deviceRoute: ctx.has('GET /devices') }).then(
    (devices) => {
      replace(
        device,
        devices.length === 0
          ? h('option', { value: '' }, 'No devices yet')
          : devices.map((d) => h('option', { value: d.id }, d.name ? `${d.name} (${d.id})` : d.id)),
      )
      void suggestMeasures()
    },
    (error) => replace(device, h('option', { value: '' }, `Could not load devices: ${errorMessage(error)}`)),
  )
  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    const models = algorithms
      .map((l) => l.querySelector('input')!)
      .filter((i) => i.checked)
      .map((i) => i.value)
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
  if (!ctx.has('GET /exports')) return unavailableNotice('Downloading exports', 'GET /exports')
  const source = h('input', { name: 'source', placeholder: 'all sources', autocomplete: 'off' })
  const days = h('input', { name: 'days', type: 'number', min: 1, max: 366, value: 7, required: true })
  const button = h('button', { type: 'submit' }, 'Download CSV')
  const form = h(
    'form',
    { class: 'card form' },
    h('h2', null, 'Export'),
    h(
      'p',
      { class: 'muted small' },
      'Readings of the last days (of one source, or all), as the seed’s raw.csv.',
    ),
    h('div', { class: 'inline' }, h('label', null, 'Source', source), h('label', null, 'Days', days)),
    button,
  )
  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    button.disabled = true
    try {
      const file = await ctx.api.download(
        '/exports',
        { source: source.value.trim() || undefined, days: days.value, format: 'csv' },
        `${source.value.trim() || 'all'}-last-${days.value}-days.csv`,
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

/** The quality report of `GET /quality`: the day's verdict and counts, what was found, and each series checked. */
function qualityReport(body: unknown): HTMLElement {
  if (body === null || typeof body !== 'object') return h('p', { class: 'muted' }, 'No quality report yet.')
  const report = body as {
    day?: string
    status?: string
    rows?: number
    generatedAt?: number
    summary?: { series?: number; pass?: number; warn?: number; fail?: number }
    series?: Array<{
      deviceId?: string
      measure?: string
      rows?: number
      firstTime?: number
      lastTime?: number
      status?: string
    }>
    findings?: Array<{
      check?: string
      deviceId?: string
      measure?: string
      severity?: string
      message?: string
      blocking?: boolean
    }>
  }
  const series = report.series ?? []
  const findings = report.findings ?? []
  const summary = report.summary ?? {}
  return h(
    'div',
    { class: 'quality' },
    h(
      'div',
      { class: 'quality-head' },
      report.status ? statusBadge(report.status) : null,
      h('strong', null, report.day ?? 'today'),
      h(
        'span',
        { class: 'muted' },
        `${(report.rows ?? 0).toLocaleString()} rows · ${summary.series ?? series.length} series · ${summary.pass ?? 0} pass, ${summary.warn ?? 0} warn, ${summary.fail ?? 0} fail`,
      ),
      report.generatedAt
        ? h('span', { class: 'muted small' }, `checked ${formatAge(report.generatedAt)}`)
        : null,
    ),
    series.length === 0 ? h('p', { class: 'muted' }, 'No readings on this day.') : null,
    findings.length > 0
      ? [
          h('h4', null, 'Findings'),
          table(
            ['Check', 'Series', 'Severity', 'What was found'],
            findings.slice(0, 100).map((f) => ({
              bad: f.severity === 'fail',
              cells: [
                f.check ?? '–',
                seriesName(f.deviceId, f.measure),
                statusBadge(f.severity ?? 'warn'),
                `${f.message ?? ''}${f.blocking ? ' (blocks training)' : ''}`,
              ],
            })),
          ),
        ]
      : null,
    series.length > 0
      ? [
          h('h4', null, 'Series'),
          table(
            ['Series', 'Rows', 'From', 'To', 'Status'],
            series.slice(0, 200).map((x) => ({
              bad: x.status === 'fail',
              cells: [
                seriesName(x.deviceId, x.measure),
                (x.rows ?? 0).toLocaleString(),
                formatTime(x.firstTime),
                formatTime(x.lastTime),
                statusBadge(x.status ?? 'pass'),
              ],
            })),
          ),
        ]
      : null,
  )
}

function seriesName(deviceId?: string, measure?: string): string {
  return [deviceId, measure].filter(Boolean).join(' · ') || '–'
}

function table(
  headings: string[],
  rows: Array<{ bad: boolean; cells: Array<HTMLElement | string> }>,
): HTMLElement {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      null,
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          headings.map((text) => h('th', null, text)),
        ),
      ),
      h(
        'tbody',
        null,
        rows.map((row) =>
          h(
            'tr',
            { class: row.bad ? 'bad' : '' },
            row.cells.map((cell) => h('td', null, cell)),
          ),
        ),
      ),
    ),
  )
}

function statusBadge(status: string): HTMLElement {
  return h('span', { class: `status status-${status}` }, status)
}

function duration(start?: number, end?: number): string {
  if (start === undefined) return '–'
  return formatDuration((end ?? Date.now()) - start)
}

/** A run id short enough for a table: its random suffix (`20240131T120000-3fa9c1` -> `3fa9c1`), or its start. */
function shortId(id: string): string {
  const suffix = /-([0-9a-z]{4,12})$/i.exec(id)?.[1]
  if (suffix) return suffix
  return id.length > 12 ? `${id.slice(0, 8)}…` : id
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined
}

function summarise(outputs: Record<string, unknown>): string {
  return Object.entries(outputs)
    .slice(0, 8)
    .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v).slice(0, 60) : String(v)}`)
    .join('  ')
}
