/**
 * Retries with exponential backoff and full jitter for calls to external systems. Only errors marked
 * retryable (`details.retryable`) are retried: a rejected token fails at once.
 */
import { isAirlakeError } from '../core/errors.js'

export interface RetryOptions {
  /** Tries in all, first included; 4 by default. */
  attempts?: number | undefined
  /** The first wait; doubled each retry (1 s, 2 s, 4 s, … by default). */
  baseDelayMs?: number | undefined
  /** Longest wait; 60 s by default. */
  maxDelayMs?: number | undefined
  /** Waits `ms`; tests pass a fast one. */
  sleep?: ((ms: number, signal?: AbortSignal) => Promise<void>) | undefined
  /** Uniform [0, 1); `Math.random` by default. */
  random?: (() => number) | undefined
  signal?: AbortSignal | undefined
  /** Called before each wait with the failure and the delay chosen. */
  onRetry?: ((error: unknown, attempt: number, delayMs: number) => void) | undefined
}

/** Whether an error says trying again may help. */
export function isRetryable(error: unknown): boolean {
  return isAirlakeError(error) && error.details?.retryable === true
}

/**
 * Runs `call` until it succeeds, a non-retryable error occurs, or `attempts` are used; then throws the
 * last error. The wait before retry n (from 1) is uniform in [base·2^(n-1)/2, base·2^(n-1)], capped.
 */
export async function withRetry<T>(
  call: (attempt: number) => Promise<T>,
  options: RetryOptions = {},
): Promise<{ value: T; attempts: number }> {
  const attempts = options.attempts ?? 4
  const base = options.baseDelayMs ?? 1_000
  const max = options.maxDelayMs ?? 60_000
  const sleep = options.sleep ?? sleepMs
  const random = options.random ?? Math.random
  for (let attempt = 1; ; attempt++) {
    try {
      return { value: await call(attempt), attempts: attempt }
    } catch (error) {
      if (attempt >= attempts || !isRetryable(error) || options.signal?.aborted) throw error
      const ceiling = Math.min(max, base * 2 ** (attempt - 1))
      const delay = Math.round(ceiling / 2 + (random() * ceiling) / 2)
      options.onRetry?.(error, attempt, delay)
      await sleep(delay, options.signal)
    }
  }
}

/** Waits `ms`, or less when `signal` aborts. */
export function sleepMs(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve()
    const timer = setTimeout(done, ms)
    function done() {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    signal?.addEventListener('abort', done, { once: true })
  })
}
