import { type Chart, createChart } from '../charts.js'
import type { Context } from '../context.js'
import { loadSelection } from '../data.js'
import { debounce, h, replace } from '../dom.js'
import { loadSection } from '../notice.js'
import { PALETTE, type Section } from './section.js'

export function selectionSection(ctx: Context): Section {
  const bandit = h('div', { class: 'stack' }, h('p', { class: 'muted' }, 'Loading model selection…'))
  let disposed = false
  const banditCharts: Chart[] = []
  /** Mean reward of each arm (`<selector> <arm>`) each time it was read while the page is open. */
  const rewardTrail = new Map<string, Array<{ time: number; meanReward: number }>>()

  const renderBandit = async () => {
    const selection = await loadSection(
      ctx,
      bandit,
      { what: 'Model selection', route: 'GET /selection', failure: 'model selection' },
      () => loadSelection(ctx.api),
    )
    if (selection === undefined || disposed) return
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
          {
            class: 'card',
            dataset: { selector, search: `${selector} ${arms.map((a) => a.arm).join(' ')}`.toLowerCase() },
          },
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
          const points =
            rewards.length > 0
              ? rewards.map((e) => ({ arm: e.arm, time: e.time, meanReward: e.value! }))
              : names.flatMap((arm) =>
                  (rewardTrail.get(`${selector} ${arm}`) ?? []).map((p) => ({ arm, ...p })),
                )
          if (new Set(points.map((p) => p.time)).size >= 2)
            banditCharts.push(rewardChart(rewardsBox, names, points))
          else {
            replace(
              rewardsBox,
              h(
                'p',
                { class: 'muted small' },
                'Read each time forecasts are scored while this page is open: the line starts with the next scores.',
              ),
            )
          }
          banditCharts.push(choiceChart(choicesBox, names, choices, current))
        })
        return card
      }),
    )
  }

  const reloadBandit = debounce(() => void renderBandit(), 1000)
  // Rewards change whenever actuals are scored, that is with each new forecast: re-read them then.
  const unsubscribe = [ctx.live.on('selection', reloadBandit), ctx.live.on('predictions', reloadBandit)]
  void renderBandit()

  return {
    element: bandit,
    dispose: () => {
      disposed = true
      reloadBandit.cancel()
      for (const off of unsubscribe) off()
      for (const c of banditCharts) c.destroy()
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
