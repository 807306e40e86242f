/**
 * One HTTP GET returning JSON, with a deadline, and failures turned into UPSTREAM_FAILED errors that say
 * whether trying again can help (`details.retryable`) and what to check.
 */
import { AirlakeError } from '../../core/errors.js'

export interface HttpJsonResult {
  status: number
  headers: Headers
  body: unknown
  text: string
}

/**
 * GETs `url` and parses the answer as JSON. Timeouts, refused connections, 5xx and non-JSON answers are
 * UPSTREAM_FAILED with `retryable: true`; other non-2xx statuses are returned for the caller to judge.
 */
export async function getJson(
  url: URL,
  options: {
    headers: Record<string, string>
    timeoutMs: number
    what: string
    signal?: AbortSignal | undefined
  },
): Promise<HttpJsonResult> {
  const timeout = AbortSignal.timeout(options.timeoutMs)
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout
  let response: Response
  let text: string
  try {
    response = await fetch(url, { headers: { accept: 'application/json', ...options.headers }, signal })
    text = await response.text()
  } catch (error) {
    if (options.signal?.aborted) throw options.signal.reason ?? error
    const timedOut = timeout.aborted
    throw new AirlakeError(
      'UPSTREAM_FAILED',
      timedOut
        ? `${options.what} did not answer within ${options.timeoutMs / 1000} s (${url.origin}): check that it is up and reachable`
        : `${options.what} could not be reached at ${url.origin} (${describeCause(error)}): check the URL and the network`,
      { cause: error, details: { retryable: true, timeout: timedOut } },
    )
  }
  if (response.status >= 500) {
    throw new AirlakeError(
      'UPSTREAM_FAILED',
      `${options.what} failed with HTTP ${response.status} at ${url.pathname}: it is having trouble on its side; airlake retries`,
      { details: { retryable: true, status: response.status } },
    )
  }
  let body: unknown
  if (response.ok) {
    try {
      body = JSON.parse(text)
    } catch {
      throw new AirlakeError(
        'UPSTREAM_FAILED',
        `${options.what} answered ${url.pathname} with something that is not JSON (${JSON.stringify(text.slice(0, 80))}): check the URL points at the API`,
        { details: { retryable: true, status: response.status } },
      )
    }
  }
  return { status: response.status, headers: response.headers, body, text }
}

function describeCause(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause
  return cause?.code ?? cause?.message ?? (error as Error).message
}
