/**
 * Models: the registry (versions, metrics by horizon, aliases) with promotion, and the bandit that
 * picks whose forecast is served (arms, mean rewards, rewards and choices over time).
 */
import { errorMessage } from '../api.js'
import { type Chart, createChart } from '../charts.js'
import type { Context, View } from '../context.js'
import { loadModels, loadSelection, metricsByHorizon, type ModelSummary, type Selection } from '../data.js'
import { debounce, h, replace } from '../dom.js'
import { formatTime, formatValue } from '../format.js'

const PALETTE = ['#38bdf8', '#a78bfa', '#f472b6', '#fb923c', '#34d399', '#fbbf24', '#f87171', '#94a3b8']
const HEADLINE_METRICS = ['mae', 'rmse', 'smape', 'auc', 'f1', 'accuracy']
const ALIASES = ['champion', 'challenger']

export function modelsView(ctx: Context): View {
  const charts: Chart[] = []
  const registry = h('div', { class: 'stack' }, h('p', { class: 'muted' }, 'Loading the registry…'))
  const bandit = h('div', { class: 'stack' }, h('p', { class: 'muted' }, 'Loading model selection…'))
  const element = h(
    'section',
    { class: 'page' },
    h(
      'div',
      { class: 'page-head' },
      h('div', null, h('h1', null, 'Models'), h('p', { class: 'muted' }, 'Registered versions, their errors by horizon, and what is served.')),
    ),
    registry,
    h('h2', { class: 'section-title' }, 'Model selection (UCB1)'),
    bandit,
  )
  let disposed = false
  const registryCharts: Chart[] = []
  const banditCharts: Chart[] = []

  const renderRegistry = async () => {
    let models: ModelSummary[]
    try {
      models = await loadModels(ctx.api)
    } catch (error) {
      replace(registry, h('p', { class: 'error-text' }, `Could not load models: ${errorMessage(error)}`))
      return
    }
    if (disposed) return
    for (const c of registryCharts.splice(0)) c.destroy()
    if (models.length === 0) {
      replace(
        registry,
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
    replace(registry, models.map((model) => modelCard(model)))
  }

  const modelCard = (model: ModelSummary): HTMLElement => {
    const metricNames = HEADLINE_METRICS.filter((m) => model.versions.some((v) => v.metrics[m] !== undefined))
    const aliasesOf = (version: number) =>
      Object.entries(model.aliases)
        .filter(([, v]) => v === version)
        .map(([alias]) => alias)
    const rows = model.versions.map((version) => {
      const select = h(
        'select',
        { 'aria-label': `Alias for version ${version.version}` },
        ALIASES.map((alias) => h('option', { value: alias }, alias)),
      )
      const button = h('button', { type: 'button', class: 'small' }, 'Promote')
      button.addEventListener('click', async () => {
        button.disabled = true
        try {
          await ctx.api.post(`/models/${encodeURIComponent(model.name)}/aliases`, {
            alias: select.value,
            version: version.version,
          })
          ctx.notify(`${model.name} v${version.version} is now ${select.value}.`, 'success')
          await renderRegistry()
        } catch (error) {
          ctx.notify(`Could not promote ${model.name} v${version.version}: ${errorMessage(error)}`, 'error')
          button.disabled = false
        }
      })
      return h(
        'tr',
        { dataset: { version: String(version.version) } },
        h('td', null, h('strong', null, `v${version.version}`)),
        h('td', null, version.algorithm || '–'),
        metricNames.map((m) => h('td', { class: 'num' }, formatValue(version.metrics[m]))),
        h('td', null, aliasesOf(version.version).map((a) => h('span', { class: `badge alias-${a}` }, a))),
        h('td', { class: 'muted nowrap' }, formatTime(version.createdAt)),
        h('td', { class: 'actions' }, h('div', { class: 'inline' }, select, button)),
      )
    })
    const chartBox = h('div', { class: 'chart-box' })
    const metricPicker = h('select', { 'aria-label': 'Metric by horizon' })
    const byHorizon = model.versions.map((v) => ({ version: v, metrics: metricsByHorizon(v.metrics) }))
    const horizonMetrics = [...new Set(byHorizon.flatMap((v) => [...v.metrics.keys()]))].sort(
      (a, b) => HEADLINE_METRICS.indexOf(a) - HEADLINE_METRICS.indexOf(b),
    )
    for (const m of horizonMetrics) metricPicker.appendChild(h('option', { value: m }, m.toUpperCase()))
    const card = h(
      'article',
      { class: 'card', dataset: { model: model.name } },
      h(
        'div',
        { class: 'card-head' },
        h('h2', null, model.name),
        h('span', { class: 'badge' }, model.task),
        Object.entries(model.aliases).map(([alias, v]) => h('span', { class: `badge alias-${alias}` }, `${alias} → v${v}`)),
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
              h('th', null, 'Version'),
              h('th', null, 'Algorithm'),
              metricNames.map((m) => h('th', { class: 'num' }, m.toUpperCase())),
              h('th', null, 'Aliases'),
              h('th', null, 'Registered'),
              h('th', null, h('span', { class: 'sr-only' }, 'Promote')),
            ),
          ),
          h('tbody', null, rows),
        ),
      ),
      horizonMetrics.length > 0
        ? h(
            'div',
            { class: 'subsection' },
            h('div', { class: 'card-head' }, h('h3', null, 'Error by horizon'), metricPicker),
            chartBox,
          )
        : null,
    )
    if (horizonMetrics.length > 0) {
      const draw = () => {
        const metric = metricPicker.value
        const versions = byHorizon.filter((v) => v.metrics.has(metric)).slice(0, PALETTE.length)
        const steps = [...new Set(versions.flatMap((v) => v.metrics.get(metric)!.map(([s]) => s)))].sort((a, b) => a - b)
        const existing = registryCharts.findIndex((c) => chartBox.contains(c.element))
        if (existing >= 0) registryCharts.splice(existing, 1)[0]!.destroy()
        const chart = createChart(chartBox, {
          xKind: 'number',
          xLabel: 'horizon (steps ahead)',
          height: 220,
          series: versions.map((v, i) => ({
            label: `v${v.version.version} ${v.version.algorithm}`,
            color: PALETTE[i % PALETTE.length]!,
            width: 2,
            points: true,
          })),
        })
        chart.setData([
          steps,
          ...versions.map((v) => {
            const values = new Map(v.metrics.get(metric))
            return steps.map((s) => values.get(s) ?? null)
          }),
        ])
        registryCharts.push(chart)
      }
      metricPicker.addEventListener('change', draw)
      requestAnimationFrame(() => !disposed && draw())
    }
    return card
  }

  const renderBandit = async () => {
    let selection: Selection
    try {
      selection = await loadSelection(ctx.api)
    } catch (error) {
      replace(bandit, h('p', { class: 'error-text' }, `Could not load model selection: ${errorMessage(error)}`))
      return
    }
    if (disposed) return
    for (const c of banditCharts.splice(0)) c.destroy()
    if (selection.arms.length === 0) {
      replace(
        bandit,
        h(
          'div',
          { class: 'card empty' },
          'No arms yet: once two or more model versions forecast a device, each is scored against the actuals and UCB1 picks the one served.',
        ),
      )
      return
    }
    const selectors = [...new Set(selection.arms.map((a) => a.selector))].sort()
    replace(
      bandit,
      selectors.map((selector) => {
        const arms = selection.arms.filter((a) => a.selector === selector).sort((a, b) => b.meanReward - a.meanReward)
        const current = selection.current.get(selector)
        const history = selection.history.filter((e) => e.selector === selector)
        const rewardsBox = h('div', { class: 'chart-box' })
        const choicesBox = h('div', { class: 'chart-box' })
        const card = h(
          'article',
          { class: 'card', dataset: { selector } },
          h('div', { class: 'card-head' }, h('h3', null, selector || 'default'), current ? h('span', { class: 'badge alias-champion' }, `serving ${current}`) : null),
          h(
            'div',
            { class: 'table-wrap' },
            h(
              'table',
              null,
              h('thead', null, h('tr', null, h('th', null, 'Arm'), h('th', { class: 'num' }, 'Pulls'), h('th', { class: 'num' }, 'Mean reward'), h('th', null, ''))),
              h(
                'tbody',
                null,
                arms.map((a) =>
                  h(
                    'tr',
                    { class: a.arm === current ? 'current' : '' },
                    h('td', { class: 'mono' }, a.arm),
                    h('td', { class: 'num' }, a.pulls.toLocaleString()),
                    h('td', { class: 'num' }, a.meanReward.toFixed(3)),
                    h('td', null, a.arm === current ? h('span', { class: 'badge alias-champion' }, 'served') : null),
                  ),
                ),
              ),
            ),
          ),
          history.length > 0
            ? h(
                'div',
                { class: 'two-col' },
                h('div', null, h('h4', null, 'Rewards over time'), rewardsBox),
                h('div', null, h('h4', null, 'Choices over time (cumulative)'), choicesBox),
              )
            : null,
        )
        if (history.length > 0) {
          requestAnimationFrame(() => {
            if (disposed) return
            const names = arms.map((a) => a.arm)
            banditCharts.push(historyChart(rewardsBox, names, history.filter((e) => e.kind === 'reward'), 'reward'))
            banditCharts.push(historyChart(choicesBox, names, history.filter((e) => e.kind === 'choice'), 'count'))
          })
        }
        return card
      }),
    )
  }

  const reloadRegistry = debounce(() => void renderRegistry(), 300)
  const reloadBandit = debounce(() => void renderBandit(), 1000)
  const unsubscribe = [ctx.live.on('models', reloadRegistry), ctx.live.on('selection', reloadBandit)]
  void renderRegistry()
  void renderBandit()

  return {
    title: 'Models',
    element,
    dispose: () => {
      disposed = true
      reloadRegistry.cancel()
      reloadBandit.cancel()
      for (const off of unsubscribe) off()
      for (const c of [...charts, ...registryCharts, ...banditCharts]) c.destroy()
    },
  }
}

/** Rewards as points per arm, or choices as a cumulative count per arm, over time. */
function historyChart(
  box: HTMLElement,
  arms: string[],
  events: Array<{ time: number; arm: string; value?: number }>,
  mode: 'reward' | 'count',
): Chart {
  const times = [...new Set(events.map((e) => e.time))].sort((a, b) => a - b)
  const index = new Map(times.map((t, i) => [t, i]))
  const columns = arms.map(() => times.map((): number | null => null))
  const counts = arms.map(() => 0)
  const sorted = [...events].sort((a, b) => a.time - b.time)
  for (const e of sorted) {
    const a = arms.indexOf(e.arm)
    if (a < 0) continue
    const i = index.get(e.time)!
    if (mode === 'reward') columns[a]![i] = e.value ?? null
    else columns[a]![i] = ++counts[a]!
  }
  const chart = createChart(box, {
    height: 180,
    series: arms.map((arm, i) => ({
      label: arm,
      color: PALETTE[i % PALETTE.length]!,
      pointsOnly: mode === 'reward',
      width: 1.5,
      spanGaps: true,
    })),
    formatY: mode === 'reward' ? (v) => v.toFixed(2) : (v) => String(Math.round(v)),
  })
  chart.setData([times, ...columns])
  return chart
}
