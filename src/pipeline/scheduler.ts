/**
 * The in-process scheduler: named jobs on cron expressions (UTC), never two runs of one job at once,
 * every run logged with its duration and errors kept (a failing job never stops the others).
 */
import { Cron } from 'croner'
import type { Logger } from '../core/ports/logger.js'

export interface Job {
  /** Unique, e.g. `build-silver`, `poll-vendor:office`. */
  name: string
  /** Five-field cron in UTC (`* * * * *` = every minute), or six with seconds first. */
  cron: string
  run(): Promise<unknown>
}

export interface JobStatus {
  name: string
  cron: string
  nextRunAt: string | undefined
  lastRunAt: string | undefined
  lastDurationMs: number | undefined
  lastError: string | undefined
  runs: number
  running: boolean
}

export class Scheduler {
  private readonly jobs = new Map<string, { job: Job; cron?: Cron; status: JobStatus }>()
  private started = false

  constructor(private readonly logger: Logger) {}

  /** Adds a job; starts it at once when the scheduler runs. Throws on a duplicate name or a bad cron. */
  add(job: Job): void {
    if (this.jobs.has(job.name)) throw new Error(`a job named ${job.name} is already scheduled`)
    const entry = {
      job,
      status: {
        name: job.name,
        cron: job.cron,
        nextRunAt: undefined,
        lastRunAt: undefined,
        lastDurationMs: undefined,
        lastError: undefined,
        runs: 0,
        running: false,
      } as JobStatus,
    } as { job: Job; cron?: Cron; status: JobStatus }
    // Validate the expression now, so a bad cron fails at start-up rather than silently never running.
    new Cron(job.cron, { paused: true, timezone: 'Etc/UTC' }).stop()
    this.jobs.set(job.name, entry)
    if (this.started) this.schedule(entry)
  }

  start(): void {
    this.started = true
    for (const entry of this.jobs.values()) this.schedule(entry)
  }

  /** Runs a job now (unless it is running); resolves when it ends. */
  async runNow(name: string): Promise<void> {
    const entry = this.jobs.get(name)
    if (!entry) throw new Error(`no job named ${name}`)
    await this.execute(entry)
  }

  status(): JobStatus[] {
    return [...this.jobs.values()].map(({ cron, status }) => ({
      ...status,
      nextRunAt: cron?.nextRun()?.toISOString(),
    }))
  }

  stop(): void {
    this.started = false
    for (const entry of this.jobs.values()) {
      entry.cron?.stop()
      entry.cron = undefined
    }
  }

  private schedule(entry: { job: Job; cron?: Cron; status: JobStatus }): void {
    entry.cron = new Cron(entry.job.cron, { timezone: 'Etc/UTC', protect: true }, () => this.execute(entry))
  }

  private async execute(entry: { job: Job; status: JobStatus }): Promise<void> {
    const { job, status } = entry
    if (status.running) return
    status.running = true
    const started = Date.now()
    try {
      const result = await job.run()
      status.lastError = undefined
      this.logger.debug('job done', { job: job.name, ms: Date.now() - started, result })
    } catch (error) {
      status.lastError = error instanceof Error ? error.message : String(error)
      this.logger.warn('job failed', { job: job.name, error: status.lastError })
    } finally {
      status.running = false
      status.runs++
      status.lastRunAt = new Date(started).toISOString()
      status.lastDurationMs = Date.now() - started
    }
  }
}
