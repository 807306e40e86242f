/**
 * The model registry (`GET /models`), one card per series forecast (`<device>.<measure>`): every model
 * version with its test metrics and aliases, a Promote control per version (`POST /models/:name/aliases`),
 * and each model's error by horizon, so the kinds trained on one series compare at a glance.
 */
import { errorMessage } from '../api.js'
import { type Chart, createChart } from '../charts.js'
import type { Context } from '../context.js'
import { loadModels, type ModelSummary, type ModelVersion, metricsByHorizon } from '../data.js'
import { debounce, h, replace } from '../dom.js'
import { formatTime, formatValue, measureLabel } from '../format.js'
import { loadSection } from '../notice.js'
import { PALETTE, type Section } from './section.js'

const HEADLINE_METRICS = ['mae', 'rmse', 'smape', 'auc', 'f1', 'accuracy']
const ALIASES = ['champion', 'challenger']

/** Models of one series: `site.iaq.ridge` and `site.iaq.xgboost` share `site.iaq`. */
interface SeriesGroup {
  key: string
  label: string
  models: ModelSummary[]
}

export function registrySection(ctx: Context): Section {
  const list = h('div', { class: 'stack' }, h('p', { class: 'muted' }, 'Loading the registry…'))
  const charts = new Map<string, Chart>()
  let disposed = false

  const render = async () => {
    const models = await loadSection(
      ctx,
      list,
      { what: 'The model registry', route: 'GET /models', failure: 'models' },
      () => loadModels(ctx.api),
    )
    if (models === undefined || disposed) return
    for (const chart of charts.values()) chart.destroy()
    charts.clear()
    if (models.length === 0) {
      replace(
        list,
        h(
          'div',
          { class: 'card empty' },
          'No models yet. Start a training run on the ',
          h('a', { href: '#/pipelines' }, 'Pipelines'),
          ' page or run ',
          h('code', null, 'airlake train --device D --measure iaq'),
          '.',
        ),
      )
      return
    }
    replace(
      list,
      groupBySeries(models).map((group) => seriesCard(group)),
    )
  }

  const promote = async (
    model: ModelSummary,
    version: ModelVersion,
    alias: string,
    button: HTMLButtonElement,
  ) => {
    button.disabled = true
    try {
      await ctx.api.post(`/models/${encodeURIComponent(model.name)}/aliases`, {
        alias,
        version: version.version,
      })
      ctx.notify(`${model.name} v${version.version} is now ${alias}.`, 'success')
      await render()
    } catch (error) {
      ctx.notify(`Could not promote ${model.name} v${version.version}: ${errorMessage(error)}`, 'error')
      button.disabled = false
    }
  }

  const versionRow = (model: ModelSummary, version: ModelVersion, metricNames: string[]) => {
    const aliases = Object.entries(model.aliases)
      .filter(([, v]) => v === version.version)
      .map(([alias]) => alias)
    const select = h(
      'select',
      { 'aria-label': `Alias for ${model.name} version ${version.version}` },
      ALIASES.map((alias) => h('option', { value: alias }, alias)),
    )
    const canPromote = ctx.has('POST /models/{name}/aliases')
    const button = h(
      'button',
      {
        type: 'button',
        class: 'small',
        disabled: !canPromote,
        title: canPromote ? undefined : 'Not available: this server has no POST /models/{name}/aliases',
      },
      'Promote',
    )
    button.addEventListener('click', () => void promote(model, version, select.value, button))
    return h(
      'tr',
      {
        dataset: { model: model.name, version: String(version.version) },
        class: aliases.length > 0 ? '' : 'idle',
      },
      h(
        'td',
        null,
        h('strong', null, version.algorithm || algorithmOf(model.name)),
        ' ',
        h('span', { class: 'muted' }, `v${version.version}`),
      ),
      metricNames.map((m) => h('td', { class: 'num' }, formatValue(version.metrics[m]))),
      h(
        'td',
        null,
        aliases.map((a) => h('span', { class: `badge alias-${a}` }, a)),
      ),
      h('td', { class: 'muted nowrap' }, formatTime(version.createdAt)),
      h('td', { class: 'actions' }, h('div', { class: 'inline' }, select, button)),
    )
  }

  const seriesCard = (group: SeriesGroup): HTMLElement => {
    const versions = group.models.flatMap((model) => model.versions)
    const metricNames = HEADLINE_METRICS.filter((m) => versions.some((v) => v.metrics[m] !== undefined))
    // Per model, the version that serves (champion) or else the newest: the one its curve shows.
    const shown = group.models.flatMap((model) => {
      const version = model.versions.find((v) => v.version === model.aliases.champion) ?? model.versions[0]
      return version ? [{ model, version, byHorizon: metricsByHorizon(version.metrics) }] : []
    })
    const horizonMetrics = [...new Set(shown.flatMap((s) => [...s.byHorizon.keys()]))].sort(
      (a, b) => HEADLINE_METRICS.indexOf(a) - HEADLINE_METRICS.indexOf(b),
    )
    const metricPicker = h(
      'select',
      { 'aria-label': 'Metric by horizon' },
      horizonMetrics.map((m) => h('option', { value: m }, m.toUpperCase())),
    )
    const chartBox = h('div', { class: 'chart-box' })
    const card = h(
      'article',
      {
        class: 'card',
        dataset: {
          series: group.key,
          search: `${group.key} ${group.models.map((m) => m.name).join(' ')}`.toLowerCase(),
        },
      },
      h(
        'div',
        { class: 'card-head' },
        h('h2', null, group.label),
        h('span', { class: 'badge' }, `${group.models.length} model${group.models.length === 1 ? '' : 's'}`),
      ),
      h(
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
              h('th', null, 'Model'),
              metricNames.map((m) => h('th', { class: 'num' }, m.toUpperCase())),
              h('th', null, 'Aliases'),
              h('th', null, 'Registered'),
              h('th', null, h('span', { class: 'sr-only' }, 'Promote')),
            ),
          ),
          h(
            'tbody',
            null,
            group.models.flatMap((model) =>
              model.versions.map((version) => versionRow(model, version, metricNames)),
            ),
          ),
        ),
      ),
      horizonMetrics.length > 0
        ? h(
            'div',
            { class: 'subsection' },
            h(
              'div',
              { class: 'card-head' },
              h('h3', null, 'Test error by horizon (serving versions)'),
              metricPicker,
            ),
            chartBox,
          )
        : null,
    )
    if (horizonMetrics.length > 0) {
      const draw = () => {
        const metric = metricPicker.value
        const lines = shown.filter((s) => s.byHorizon.has(metric)).slice(0, PALETTE.length)
        const steps = [...new Set(lines.flatMap((s) => s.byHorizon.get(metric)!.map(([step]) => step)))].sort(
          (a, b) => a - b,
        )
        charts.get(group.key)?.destroy()
        const chart = createChart(chartBox, {
          xKind: 'number',
          xLabel: 'horizon (steps ahead)',
          height: 200,
          series: lines.map((s, i) => ({
            label: `${s.version.algorithm || algorithmOf(s.model.name)} v${s.version.version}`,
            color: PALETTE[i % PALETTE.length]!,
            width: 2,
            points: true,
          })),
        })
        chart.setData([
          steps,
          ...lines.map((s) => {
            const values = new Map(s.byHorizon.get(metric))
            return steps.map((step) => values.get(step) ?? null)
          }),
        ])
        charts.set(group.key, chart)
      }
      metricPicker.addEventListener('change', draw)
      requestAnimationFrame(() => !disposed && draw())
    }
    return card
  }

  const reload = debounce(() => void render(), 300)
  const unsubscribe = ctx.live.on('models', reload)
  void render()

  return {
    element: list,
    dispose: () => {
      disposed = true
      reload.cancel()
      unsubscribe()
      for (const chart of charts.values()) chart.destroy()
    },
  }
}

/** Models grouped by the series they forecast (the name without its last part), in name order. */
export function groupBySeries(models: ModelSummary[]): SeriesGroup[] {
  const groups = new Map<string, SeriesGroup>()
  for (const model of models) {
    const cut = model.name.lastIndexOf('.')
    const key = cut > 0 ? model.name.slice(0, cut) : model.name
    let group = groups.get(key)
    if (!group) {
      group = { key, label: seriesLabel(key), models: [] }
      groups.set(key, group)
    }
    group.models.push(model)
  }
  return [...groups.values()].sort((a, b) => a.key.localeCompare(b.key))
}

/** `site-1.iaq` -> `site-1 · IAQ`. */
function seriesLabel(key: string): string {
  const cut = key.lastIndexOf('.')
  return cut > 0 ? `${key.slice(0, cut)} · ${measureLabel(key.slice(cut + 1))}` : key
}

/** `site.iaq.ridge` -> `ridge`. */
function algorithmOf(name: string): string {
  return name.slice(name.lastIndexOf('.') + 1)
}
