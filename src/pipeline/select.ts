/**
 * Model selection (DESIGN.md section 6): a UCB1 bandit per selector whose arms are model versions
 * (`<model>@<version>`).
 *
 * Every candidate forecasts in shadow; when the actual for a forecast time arrives, each candidate's
 * forecasts of that time are scored, `reward = 1 / (1 + |error| / scale)`, and the mean over the horizons
 * every candidate forecast is added to the arm as one pull. UCB1 then picks whose forecast is served:
 * the arm maximising `mean + sqrt(2 ln N / n)`, each arm tried once first. Because every arm is scored
 * on every actual (full feedback), pull counts stay close and the choice follows the best mean; the
 * exploration bonus matters for arms that joined late (a new challenger), which are served until they
 * have evidence. A pin overrides the bandit until removed.
 *
 * State lives in the store's SelectionStore (pulls and reward sums, pins, the history of choices and
 * pins) so it survives restarts; rewards are counted in memory at once and saved within `saveDelayMs`
 * (and on `flush`, which the forecaster's stop calls). The Selector keeps a cache that it refreshes every `refreshMs` so
 * several forecasting workers converge on the same view.
 */
import { AirlakeError } from '../core/errors.js'
import type { Bus } from '../core/ports/bus.js'
import type { Clock } from '../core/ports/clock.js'
import type { Logger } from '../core/ports/logger.js'
import type { ArmState, SelectionEvent, SelectionStore } from '../core/ports/store.js'
import type { TimeMs } from '../core/time.js'

/** What UCB1 needs of an arm. */
export interface ArmStats {
  arm: string
  pulls: number
  rewardSum: number
}

/** An arm's standing: its mean reward and its UCB1 index (`Infinity` while untried). */
export interface ArmScore extends ArmStats {
  meanReward: number
  ucb: number
}

/**
 * UCB1 indices of `arms`: `mean + sqrt(2 ln N / n)` with N the total pulls; an untried arm scores
 * `Infinity` so it is tried first. Pure; the order of `arms` is kept.
 */
export function ucb1Scores(arms: readonly ArmStats[]): ArmScore[] {
  const total = arms.reduce((sum, arm) => sum + arm.pulls, 0)
  return arms.map((arm) => {
    const meanReward = arm.pulls > 0 ? arm.rewardSum / arm.pulls : 0
    const ucb =
      arm.pulls > 0 ? meanReward + Math.sqrt((2 * Math.log(total)) / arm.pulls) : Number.POSITIVE_INFINITY
    return { ...arm, meanReward, ucb }
  })
}

/**
 * The arm UCB1 picks: the highest index; ties go to the earlier arm in `arms` (so untried arms are tried
 * in the order given). Throws BAD_REQUEST for an empty list.
 */
export function ucb1Choose(arms: readonly ArmStats[]): string {
  const scores = ucb1Scores(arms)
  let best: ArmScore | undefined
  for (const score of scores) if (best === undefined || score.ucb > best.ucb) best = score
  if (best === undefined) throw new AirlakeError('BAD_REQUEST', 'UCB1 needs at least one arm to choose from')
  return best.arm
}

/** Reward of one forecast: 1 for a perfect one, 1/2 when the error equals the scale, towards 0 beyond. */
export function forecastReward(forecast: number, actual: number, scale: number): number {
  return 1 / (1 + Math.abs(forecast - actual) / scale)
}

/**
 * The scale errors are normalised by: the mean absolute one-step change of `values` (the denominator of
 * MASE, so a reward of 1/2 means "as far off as the series moves in one step"), floored at 1 % of the
 * series' mean absolute level and at 1e-9 so a flat series does not make every error infinite.
 * `values` are recent actuals, oldest first.
 */
export function seriesScale(values: ArrayLike<number>): number {
  let changes = 0
  let level = 0
  for (let i = 0; i < values.length; i++) {
    level += Math.abs(values[i]!)
    if (i > 0) changes += Math.abs(values[i]! - values[i - 1]!)
  }
  const meanChange = values.length > 1 ? changes / (values.length - 1) : 0
  const meanLevel = values.length > 0 ? level / values.length : 0
  return Math.max(meanChange, 0.01 * meanLevel, 1e-9)
}

/** A forecast kept in shadow, as scoring needs it. */
export interface ScoredForecast {
  arm: string
  horizon: number
  value: number
}

/**
 * One reward per arm for an actual: the mean reward of the arm's forecasts of that time over the
 * horizons that every arm forecast (so an arm that joined recently and has only short horizons is not
 * compared on easier forecasts than the others). Arms are returned sorted by name.
 */
export function scoreForecasts(
  forecasts: readonly ScoredForecast[],
  actual: number,
  scale: number,
): Array<{ arm: string; reward: number; horizons: number }> {
  const byArm = new Map<string, Map<number, number>>()
  for (const forecast of forecasts) {
    const horizons = byArm.get(forecast.arm) ?? new Map<number, number>()
    horizons.set(forecast.horizon, forecast.value)
    byArm.set(forecast.arm, horizons)
  }
  const arms = [...byArm.keys()].sort()
  const common = [...(byArm.get(arms[0] ?? '')?.keys() ?? [])].filter((h) =>
    arms.every((arm) => byArm.get(arm)!.has(h)),
  )
  if (common.length === 0) return []
  return arms.map((arm) => {
    const horizons = byArm.get(arm)!
    const total = common.reduce((sum, h) => sum + forecastReward(horizons.get(h)!, actual, scale), 0)
    return { arm, reward: total / common.length, horizons: common.length }
  })
}

/** Why an arm was chosen. */
export type ChoiceReason = 'pinned' | 'untried' | 'ucb1' | 'only'

export interface Choice {
  arm: string
  reason: ChoiceReason
}

/** What GET /selection shows of one selector. */
export interface SelectorView {
  selector: string
  /** The arm most recently chosen (from the history), or undefined before the first choice. */
  choice: string | undefined
  pinned: string | undefined
  /** Arms with their pulls, mean reward and UCB1 index, best index first. */
  arms: Array<ArmScore & { updatedAt: TimeMs }>
  /** Choices, pins and unpins, newest first. */
  history: SelectionEvent[]
}

export interface SelectorDeps {
  store: SelectionStore
  clock: Clock
  logger: Logger
  /** When given, `selection.updated` is published on every change of choice and every pin. */
  bus?: Bus | undefined
}

interface CachedSelector {
  arms: Map<string, { pulls: number; rewardSum: number }>
  pinned: string | undefined
  lastChoice: string | undefined
  loadedAt: TimeMs
}

export interface SelectorOptions {
  /** How long a cached selector is trusted before it is read from the store again (ms, default 30,000). */
  refreshMs?: number
  /**
   * Rewards are counted at once in memory and saved together at most this long after (ms, default 1,000),
   * so scoring costs one store write per arm per second rather than per forecast; 0 saves before
   * `reward` resolves. `flush` saves at once (`describe` and the forecaster's `stop` call it).
   */
  saveDelayMs?: number
}

interface Totals {
  pulls: number
  rewardSum: number
}

function addTotals(a: Totals | undefined, b: Totals): Totals {
  return { pulls: (a?.pulls ?? 0) + b.pulls, rewardSum: (a?.rewardSum ?? 0) + b.rewardSum }
}

const ARM_PATTERN = /^[A-Za-z0-9_.:~-]{1,160}@\d+$/

/** Checks an arm name `<model>@<version>`; throws PARAMETER_INVALID with the expected form otherwise. */
export function checkArm(arm: unknown): string {
  if (typeof arm !== 'string' || !ARM_PATTERN.test(arm)) {
    throw new AirlakeError(
      'PARAMETER_INVALID',
      `an arm is a model version written <model>@<version>, e.g. "iaq-ridge@3"; got ${JSON.stringify(arm)}`,
    )
  }
  return arm
}

/**
 * The persistent bandit: chooses, records rewards, pins. One instance per process, shared by the live
 * forecaster and the API so a pin takes effect at once.
 */
export class Selector {
  private readonly cache = new Map<string, CachedSelector>()
  private readonly loading = new Map<string, Promise<CachedSelector>>()
  private readonly refreshMs: number
  private readonly saveDelayMs: number
  /** Rewards counted in memory and not yet in the store: selector -> arm -> totals. */
  private unsaved = new Map<string, Map<string, Totals>>()
  private saveTimer: ReturnType<typeof setTimeout> | undefined
  /** Store loads and reward saves run one after the other, so a load never misses a save in flight. */
  private serial: Promise<unknown> = Promise.resolve()

  constructor(
    private readonly deps: SelectorDeps,
    options: SelectorOptions = {},
  ) {
    this.refreshMs = options.refreshMs ?? 30_000
    this.saveDelayMs = options.saveDelayMs ?? 1_000
  }

  /**
   * Picks the arm to serve among `candidates`: the pinned arm when it is a candidate, else UCB1. A
   * candidate seen for the first time is registered with zero pulls (so GET /selection lists it). A change
   * of choice is appended to the history and published. Throws BAD_REQUEST for no candidates.
   */
  async choose(selector: string, candidates: readonly string[]): Promise<Choice> {
    if (candidates.length === 0)
      throw new AirlakeError('BAD_REQUEST', `selector ${selector} has no candidate arms`)
    const state = await this.state(selector)
    const now = this.deps.clock.now()
    const fresh = candidates.filter((arm) => !state.arms.has(arm))
    for (const arm of fresh) state.arms.set(arm, { pulls: 0, rewardSum: 0 })
    await Promise.all(fresh.map((arm) => this.deps.store.addReward(selector, arm, 0, now, 0)))

    let choice: Choice
    if (state.pinned !== undefined && candidates.includes(state.pinned))
      choice = { arm: state.pinned, reason: 'pinned' }
    else if (candidates.length === 1) choice = { arm: candidates[0]!, reason: 'only' }
    else {
      const stats = candidates.map((arm) => ({ arm, ...state.arms.get(arm)! }))
      const arm = ucb1Choose(stats)
      choice = { arm, reason: state.arms.get(arm)!.pulls === 0 ? 'untried' : 'ucb1' }
    }
    if (choice.arm !== state.lastChoice) {
      const previous = state.lastChoice
      state.lastChoice = choice.arm
      await this.record(selector, {
        selector,
        time: now,
        kind: 'choice',
        arm: choice.arm,
        details: { previous, reason: choice.reason },
      })
    }
    return choice
  }

  /**
   * Adds one pull per entry, with its reward in [0, 1], to its arm: at once for `choose`, in the store
   * within `saveDelayMs` (entries of one arm summed into one write). Throws BAD_REQUEST for a reward
   * outside [0, 1].
   */
  async reward(selector: string, rewards: ReadonlyArray<{ arm: string; reward: number }>): Promise<void> {
    if (rewards.length === 0) return
    const totals = new Map<string, Totals>()
    for (const { arm, reward } of rewards) {
      if (!(reward >= 0 && reward <= 1))
        throw new AirlakeError('BAD_REQUEST', `a reward must be in [0, 1], got ${reward} for ${arm}`)
      const total = totals.get(arm) ?? { pulls: 0, rewardSum: 0 }
      total.pulls += 1
      total.rewardSum += reward
      totals.set(arm, total)
    }
    const state = await this.state(selector)
    const unsaved = this.unsaved.get(selector) ?? new Map<string, Totals>()
    this.unsaved.set(selector, unsaved)
    for (const [arm, total] of totals) {
      state.arms.set(arm, addTotals(state.arms.get(arm), total))
      unsaved.set(arm, addTotals(unsaved.get(arm), total))
    }
    if (this.saveDelayMs === 0) return this.flush()
    if (this.saveTimer === undefined) {
      this.saveTimer = setTimeout(() => {
        this.saveTimer = undefined
        this.flush().catch((error: unknown) =>
          this.deps.logger.error('could not save bandit rewards; retrying with the next ones', {
            error: String(error),
          }),
        )
      }, this.saveDelayMs)
      this.saveTimer.unref?.()
    }
  }

  /**
   * Writes the rewards counted since the last save (one store write per arm); resolves when they are
   * durable. Rewards whose write failed are kept for the next save, and the error is thrown.
   */
  flush(): Promise<void> {
    if (this.saveTimer !== undefined) clearTimeout(this.saveTimer)
    this.saveTimer = undefined
    return this.inTurn(async () => {
      const batch = this.unsaved
      this.unsaved = new Map()
      const now = this.deps.clock.now()
      const writes = [...batch].flatMap(([selector, arms]) =>
        [...arms].map(([arm, total]) => ({ selector, arm, total })),
      )
      const results = await Promise.allSettled(
        writes.map(({ selector, arm, total }) =>
          this.deps.store.addReward(selector, arm, total.rewardSum, now, total.pulls),
        ),
      )
      let failure: unknown
      results.forEach((result, i) => {
        if (result.status === 'fulfilled') return
        failure ??= result.reason
        const { selector, arm, total } = writes[i]!
        const arms = this.unsaved.get(selector) ?? new Map<string, Totals>()
        this.unsaved.set(selector, arms)
        arms.set(arm, addTotals(arms.get(arm), total))
      })
      if (failure !== undefined) throw failure
    })
  }

  /**
   * Pins `arm` as the choice of `selector` (or unpins with `undefined`); recorded in the history.
   * The arm must be `<model>@<version>` (PARAMETER_INVALID otherwise); it is served while it is a
   * candidate of the selector.
   */
  async pin(selector: string, arm: string | undefined): Promise<void> {
    if (arm !== undefined) checkArm(arm)
    const state = await this.state(selector)
    const previous = state.pinned
    await this.deps.store.setPin(selector, arm)
    state.pinned = arm
    const event: SelectionEvent =
      arm === undefined
        ? { selector, time: this.deps.clock.now(), kind: 'unpin', arm: previous ?? '', details: {} }
        : { selector, time: this.deps.clock.now(), kind: 'pin', arm, details: { previous } }
    await this.record(selector, event)
  }

  /** The pinned arm of `selector`, if any (served while it is a candidate). */
  async pinned(selector: string): Promise<string | undefined> {
    return (await this.state(selector)).pinned
  }

  /**
   * Every selector (or one) as stored: arms with pulls, mean reward and UCB1 index (best first), the
   * current choice, the pin and the newest `historyLimit` events. Reads the store, not the cache.
   */
  async describe(
    options: { selector?: string | undefined; historyLimit?: number } = {},
  ): Promise<SelectorView[]> {
    await this.flush()
    const arms = await this.deps.store.listArms(options.selector)
    const bySelector = new Map<string, ArmState[]>()
    for (const arm of arms) bySelector.set(arm.selector, [...(bySelector.get(arm.selector) ?? []), arm])
    if (options.selector !== undefined && !bySelector.has(options.selector)) {
      const pinned = await this.deps.store.getPin(options.selector)
      if (pinned === undefined) return []
      bySelector.set(options.selector, [])
    }
    const limit = options.historyLimit ?? 50
    const views = await Promise.all(
      [...bySelector.entries()]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(async ([selector, states]): Promise<SelectorView> => {
          const [history, lastChoice, pinned] = await Promise.all([
            this.deps.store.listSelectionEvents({ selector, limit }),
            this.deps.store.listSelectionEvents({ selector, kind: 'choice', limit: 1 }),
            this.deps.store.getPin(selector),
          ])
          const updatedAt = new Map(states.map((s) => [s.arm, s.updatedAt]))
          const scored = ucb1Scores(states)
            .map((score) => ({ ...score, updatedAt: updatedAt.get(score.arm) ?? 0 }))
            .sort((a, b) => b.ucb - a.ucb || b.meanReward - a.meanReward || (a.arm < b.arm ? -1 : 1))
          return { selector, choice: lastChoice[0]?.arm, pinned, arms: scored, history }
        }),
    )
    return views
  }

  /** Forgets the cache (tests; after an operator edits the store by hand). */
  invalidate(selector?: string): void {
    if (selector === undefined) this.cache.clear()
    else this.cache.delete(selector)
  }

  private async record(selector: string, event: SelectionEvent): Promise<void> {
    await this.deps.store.appendSelectionEvents([event])
    this.deps.logger.info('selection changed', { selector, kind: event.kind, arm: event.arm })
    await this.deps.bus
      ?.publish('selection.updated', { selector, arm: event.arm, kind: event.kind })
      .catch((error: unknown) =>
        this.deps.logger.warn('could not publish selection.updated', { error: String(error) }),
      )
  }

  private async state(selector: string): Promise<CachedSelector> {
    const cached = this.cache.get(selector)
    if (cached !== undefined && this.deps.clock.now() - cached.loadedAt < this.refreshMs) return cached
    let loading = this.loading.get(selector)
    if (loading === undefined) {
      loading = this.inTurn(() => this.load(selector, cached)).finally(() => this.loading.delete(selector))
      this.loading.set(selector, loading)
    }
    return loading
  }

  private async load(selector: string, previous: CachedSelector | undefined): Promise<CachedSelector> {
    const [arms, pinned, lastChoice] = await Promise.all([
      this.deps.store.listArms(selector),
      this.deps.store.getPin(selector),
      previous === undefined
        ? this.deps.store
            .listSelectionEvents({ selector, kind: 'choice', limit: 1 })
            .then((events) => events[0]?.arm)
        : Promise.resolve(previous.lastChoice),
    ])
    // The store, plus what this process counted and has not saved yet.
    const unsaved = this.unsaved.get(selector)
    const state: CachedSelector = {
      arms: new Map(
        arms.map((arm) => [
          arm.arm,
          addTotals(unsaved?.get(arm.arm), { pulls: arm.pulls, rewardSum: arm.rewardSum }),
        ]),
      ),
      pinned,
      lastChoice,
      loadedAt: this.deps.clock.now(),
    }
    for (const [arm, total] of unsaved ?? []) if (!state.arms.has(arm)) state.arms.set(arm, total)
    this.cache.set(selector, state)
    return state
  }

  /** Runs `work` after every store load and reward save started before it. */
  private inTurn<T>(work: () => Promise<T>): Promise<T> {
    const turn = this.serial.then(work, work)
    this.serial = turn.catch(() => {})
    return turn
  }
}
