/**
 * Models: the registry (versions, metrics by horizon, aliases) with promotion, and the bandit that
 * picks whose forecast is served (arms, mean rewards, rewards and choices over time).
 */
import { errorMessage } from '../api.js'
import { type Chart, createChart } from '../charts.js'
import type { Context, View } from '../context.js'
import { loadModels, loadSelection, type ModelSummary, metricsByHorizon, type Selection } from '../data.js'
import { debounce, h, replace } from '../dom.js'
import { formatTime, formatValue } from '../format.js'
import { unavailableNotice } from '../notice.js'

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
      h(
        'div',
        null,
        h('h1', null, 'Models'),
        h('p', { class: 'muted' }, 'Registered versions, their errors by horizon, and what is served.'),
      ),
    ),
    registry,
    h('h2', { class: 'section-title' }, 'Model selection (UCB1)'),
    bandit,
  )
  let disposed = false
  const registryCharts: Chart[] = []
  const banditCharts: Chart[] = []
  /** Mean reward of each arm (`<selector> <arm>`) each time it was read while the page is open. */
  const rewardTrail = new Map<string, Array<{ time: number; meanReward: number }>>()

  const renderRegistry = async () => {
    if (!ctx.has('GET /models')) {
      replace(registry, unavailableNotice('The model registry', 'GET /models'))
      return
    }
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
    replace(
      registry,
      models.map((model) => modelCard(model)),
    )
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
        h(
          'td',
          null,
          aliasesOf(version.version).map((a) => h('span', { class: `badge alias-${a}` }, a)),
        ),
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
        Object.entries(model.aliases).map(([alias, v]) =>
          h('span', { class: `badge alias-${alias}` }, `${alias} → v${v}`),
        ),
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
        const steps = [...new Set(versions.flatMap((v) => v.metrics.get(metric)!.map(([s]) => s)))].sort(
          (a, b) => a - b,
        )
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
    if (!ctx.has('GET /selection')) {
      replace(bandit, unavailableNotice('Model selection', 'GET /selection'))
      return
    }
    let selection: Selection
    try {
      selection = await loadSelection(ctx.api)
    } catch (error) {
      replace(
        bandit,
        h('p', { class: 'error-text' }, `Could not load model selection: ${errorMessage(error)}`),
      )
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
    const sampledAt = Date.now()
    for (const arm of selection.arms) {
      const key = `${arm.selector} ${arm.arm}`
      const trail = rewardTrail.get(key) ?? []
      if (trail.at(-1)?.meanReward !== arm.meanReward)
        trail.push({ time: sampledAt, meanReward: arm.meanReward })
      rewardTrail.set(key, trail.slice(-500))
    }
    const selectors = [...new Set(selection.arms.map((a) => a.selector))].sort()
    replace(
      bandit,
      selectors.map((selector) => {
        const arms = selection.arms
          .filter((a) => a.selector === selector)
          .sort((a, b) => b.meanReward - a.meanReward)
        const current = selection.current.get(selector)
        const pinned = selection.pinned.get(selector)
        const choices = selection.history.filter(
          (e) => e.selector === selector && (e.kind === 'choice' || e.kind === 'pin'),
        )
        const rewardsBox = h('div', { class: 'chart-box' })
        const choicesBox = h('div', { class: 'chart-box' })
        const best = Math.max(...arms.map((a) => a.meanReward), 1e-9)
        const card = h(
          'article',
          { class: 'card', dataset: { selector } },
          h(
            'div',
            { class: 'card-head' },
            h('h3', null, selector || 'default'),
            pinned ? h('span', { class: 'badge alias-challenger' }, `pinned ${shortArm(pinned)}`) : null,
            current ? h('span', { class: 'badge alias-champion' }, `serving ${shortArm(current)}`) : null,
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
                  h('th', null, 'Arm'),
                  h('th', { class: 'num' }, 'Pulls'),
                  h('th', null, 'Mean reward'),
                  h('th', { class: 'num', title: 'UCB1 index: mean + sqrt(2 ln N / n)' }, 'UCB1'),
                  h('th', null, ''),
                ),
              ),
              h(
                'tbody',
                null,
                arms.map((a) =>
                  h(
                    'tr',
                    { class: a.arm === current ? 'current' : '' },
                    h('td', { class: 'mono', title: a.arm }, a.arm),
                    h('td', { class: 'num' }, a.pulls.toLocaleString()),
                    h(
                      'td',
                      { class: 'reward' },
                      h(
                        'span',
                        { class: 'bar-track' },
                        h('span', {
                          class: 'bar',
                          style: `width: ${Math.round((a.meanReward / best) * 100)}%`,
                        }),
                      ),
                      h('span', { class: 'num' }, a.meanReward.toFixed(3)),
                    ),
                    h('td', { class: 'num' }, a.ucb === undefined ? 'untried' : a.ucb.toFixed(3)),
                    h(
                      'td',
                      null,
                      a.arm === current ? h('span', { class: 'badge alias-champion' }, 'served') : null,
                    ),
                  ),
                ),
              ),
            ),
          ),
          h(
            'div',
            { class: 'two-col' },
            h('div', null, h('h4', null, 'Mean reward over time'), rewardsBox),
            h('div', null, h('h4', null, 'Arm served over time'), choicesBox),
          ),
        )
        requestAnimationFrame(() => {
          if (disposed) return
          const names = arms.map((a) => a.arm)
          const rewards = selection.history.filter(
            (e) => e.selector === selector && e.kind === 'reward' && e.value !== undefined,
          )
          banditCharts.push(
            rewards.length > 0
              ? rewardChart(
                  rewardsBox,
                  names,
                  rewards.map((e) => ({ arm: e.arm, time: e.time, meanReward: e.value! })),
                )
              : rewardChart(
                  rewardsBox,
                  names,
                  names.flatMap((arm) =>
                    (rewardTrail.get(`${selector} ${arm}`) ?? []).map((p) => ({ arm, ...p })),
                  ),
                ),
          )
          banditCharts.push(choiceChart(choicesBox, names, choices, current))
        })
        return card
      }),
    )
  }

  const reloadRegistry = debounce(() => void renderRegistry(), 300)
  const reloadBandit = debounce(() => void renderBandit(), 1000)
  // Rewards change whenever actuals are scored, that is with each new forecast: re-read them then.
  const unsubscribe = [
    ctx.live.on('models', reloadRegistry),
    ctx.live.on('selection', reloadBandit),
    ctx.live.on('predictions', reloadBandit),
  ]
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

/** Each arm's mean reward at the times it was read (or reward events, when the server keeps them). */
function rewardChart(
  box: HTMLElement,
  arms: string[],
  points: Array<{ arm: string; time: number; meanReward: number }>,
): Chart {
  const times = [...new Set(points.map((p) => p.time))].sort((a, b) => a - b)
  const index = new Map(times.map((t, i) => [t, i]))
  const columns = arms.map(() => times.map((): number | null => null))
  for (const p of points) {
    const a = arms.indexOf(p.arm)
    if (a >= 0) columns[a]![index.get(p.time)!] = p.meanReward
  }
  const chart = createChart(box, {
    height: 180,
    series: arms.map((arm, i) => ({
      label: shortArm(arm),
      color: PALETTE[i % PALETTE.length]!,
      width: 1.5,
      points: true,
      spanGaps: true,
    })),
    formatY: (v) => v.toFixed(2),
  })
  chart.setData([times, ...columns])
  return chart
}

/** Which arm was served when: a step line over the arms (one row each), from the choice history up to now. */
function choiceChart(
  box: HTMLElement,
  arms: string[],
  events: Array<{ time: number; arm: string }>,
  current: string | undefined,
): Chart {
  const sorted = [...events].sort((a, b) => a.time - b.time)
  const last = current ?? sorted.at(-1)?.arm
  if (last !== undefined)
    sorted.push({ time: Math.max(Date.now(), (sorted.at(-1)?.time ?? 0) + 1), arm: last })
  const chart = createChart(box, {
    height: 180,
    series: [{ label: 'served', color: PALETTE[0]!, width: 2, stepped: true, points: sorted.length < 40 }],
    yRange: [-0.5, Math.max(arms.length - 1, 0) + 0.5],
    yStep: 1,
    yAxisSize: 84,
    formatY: (v) => (Number.isInteger(v) && arms[v] ? shortArm(arms[v]!) : ''),
  })
  chart.setData([
    sorted.map((e) => e.time),
    sorted.map((e) => (arms.includes(e.arm) ? arms.indexOf(e.arm) : null)),
  ])
  return chart
}

/** `site.iaq.ridge@2` -> `ridge@2`: the arm's algorithm and version, enough within one selector. */
function shortArm(arm: string): string {
  return arm.split('.').at(-1) ?? arm
}
