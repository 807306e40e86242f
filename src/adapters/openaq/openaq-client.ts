/**
 * OpenAQ API v3 (reference/openaq-v3.md): `X-API-Key`, paging with `limit`/`page`, `meta.found` read
 * defensively (`12`, `"12"`, `">1000"`), and rate limits honoured: a 429 waits for `retry-after` or
 * `x-ratelimit-reset` and tries again, and a page that leaves `x-ratelimit-remaining` at 0 makes the next
 * request wait for the reset, so a long walk never hammers the API.
 */
import { AirlakeError } from '../../core/errors.js'
import type { TimeMs } from '../../core/time.js'

export const OPENAQ_BASE_URL = 'https://api.openaq.org/v3'

export interface OpenaqClientOptions {
  /** `https://api.openaq.org/v3` by default; `/v3` is added when the URL lacks it. */
  baseUrl?: string | undefined
  apiKey?: string | undefined
  /** Deadline per request; 30 s by default. */
  timeoutMs?: number | undefined
  /** 429 answers waited out per request before giving up; 5 by default. */
  maxRateLimitWaits?: number | undefined
  /** Longest single wait for a rate-limit reset; 120 s by default. */
  maxWaitMs?: number | undefined
  sleep?: ((ms: number) => Promise<void>) | undefined
  now?: (() => TimeMs) | undefined
}

export interface OpenaqLocationInfo {
  id: number
  name: string
  coordinates?: string | undefined
  sensors: Array<{ id: number; parameterId: number; parameterName: string }>
}

export interface OpenaqHourRow {
  raw: string
  time: TimeMs | undefined
  value: unknown
}

export interface OpenaqPage {
  hours: OpenaqHourRow[]
  page: number
  found: number | undefined
  foundIsLowerBound: boolean
  hasMore: boolean
}

/**
 * Reads `meta.found`: a number, a numeric string, or `">N"` (a lower bound). Anything else is unknown.
 * @example parseFound('>1000') // { found: 1000, lowerBound: true }
 */
export function parseFound(value: unknown): { found: number | undefined; lowerBound: boolean } {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0)
    return { found: value, lowerBound: false }
  if (typeof value === 'string') {
    const match = /^\s*(>=?)?\s*(\d+)\s*$/.exec(value)
    if (match) return { found: Number(match[2]), lowerBound: match[1] !== undefined }
  }
  return { found: undefined, lowerBound: false }
}

export class OpenaqClient {
  readonly baseUrl: string
  private readonly apiKey: string | undefined
  private readonly timeoutMs: number
  private readonly maxRateLimitWaits: number
  private readonly maxWaitMs: number
  private readonly sleep: (ms: number) => Promise<void>
  private readonly now: () => TimeMs
  /** When the rate-limit window resets after the API said none were left. */
  private pausedUntil = 0

  constructor(options: OpenaqClientOptions = {}) {
    const raw = (options.baseUrl ?? OPENAQ_BASE_URL).replace(/\/+$/, '')
    let url: URL
    try {
      url = new URL(raw)
    } catch {
      throw new AirlakeError(
        'CONFIG_INVALID',
        `the OpenAQ base URL ${JSON.stringify(raw)} is not a URL: write it like ${OPENAQ_BASE_URL}`,
      )
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new AirlakeError(
        'CONFIG_INVALID',
        `the OpenAQ base URL must start with http:// or https://, got ${url.protocol}`,
      )
    }
    this.baseUrl = /\/v3$/.test(raw) ? raw : `${raw}/v3`
    this.apiKey = options.apiKey || undefined
    this.timeoutMs = options.timeoutMs ?? 30_000
    this.maxRateLimitWaits = options.maxRateLimitWaits ?? 5
    this.maxWaitMs = options.maxWaitMs ?? 120_000
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)))
    this.now = options.now ?? Date.now
  }

  /** `GET /locations/{id}`: the station and its sensors, or undefined when OpenAQ has no such location. */
  async getLocation(id: number, signal?: AbortSignal): Promise<OpenaqLocationInfo | undefined> {
    const answer = await this.get(`/locations/${id}`, {}, signal, true)
    if (answer === undefined) return undefined
    const result = (answer.results as unknown[] | undefined)?.[0] as Record<string, unknown> | undefined
    if (result === undefined) return undefined
    const sensors = Array.isArray(result.sensors) ? result.sensors : []
    const coordinates = result.coordinates as { latitude?: unknown; longitude?: unknown } | undefined
    return {
      id: Number(result.id ?? id),
      name: typeof result.name === 'string' ? result.name : `location ${id}`,
      coordinates:
        typeof coordinates?.latitude === 'number' && typeof coordinates.longitude === 'number'
          ? `${coordinates.latitude},${coordinates.longitude}`
          : undefined,
      sensors: sensors.flatMap((sensor: { id?: unknown; parameter?: { id?: unknown; name?: unknown } }) =>
        typeof sensor?.id === 'number' && typeof sensor.parameter?.id === 'number'
          ? [
              {
                id: sensor.id,
                parameterId: sensor.parameter.id,
                parameterName: String(sensor.parameter.name ?? ''),
              },
            ]
          : [],
      ),
    }
  }

  /** `GET /sensors/{id}/hours`: one page (from 1) of hourly means whose hour starts in [from, to). */
  async sensorHours(
    sensorId: number,
    query: { from: TimeMs; to: TimeMs; page: number; limit: number },
    signal?: AbortSignal,
  ): Promise<OpenaqPage> {
    const answer = await this.get(
      `/sensors/${sensorId}/hours`,
      {
        datetime_from: new Date(query.from).toISOString(),
        datetime_to: new Date(query.to).toISOString(),
        limit: String(query.limit),
        page: String(query.page),
      },
      signal,
      false,
    )
    const results = answer?.results
    if (!Array.isArray(results)) throw this.garbage(`/sensors/${sensorId}/hours`, 'no "results" list')
    const meta = (answer?.meta ?? {}) as { found?: unknown }
    const { found, lowerBound } = parseFound(meta.found)
    const hours = results.map((result: unknown): OpenaqHourRow => {
      const row = (result ?? {}) as { value?: unknown; period?: { datetimeFrom?: { utc?: unknown } } }
      const utc = row.period?.datetimeFrom?.utc
      const time = typeof utc === 'string' ? Date.parse(utc) : Number.NaN
      return { raw: JSON.stringify(result), time: Number.isFinite(time) ? time : undefined, value: row.value }
    })
    const exact = found !== undefined && !lowerBound
    const hasMore =
      hours.length > 0 && (exact ? query.page * query.limit < found : hours.length >= query.limit)
    return { hours, page: query.page, found, foundIsLowerBound: lowerBound, hasMore }
  }

  private async get(
    path: string,
    query: Record<string, string>,
    signal: AbortSignal | undefined,
    notFoundIsAbsent: boolean,
  ): Promise<Record<string, unknown> | undefined> {
    const url = new URL(`${this.baseUrl}${path}`)
    for (const [key, value] of Object.entries(query)) url.searchParams.set(key, value)
    for (let waits = 0; ; waits++) {
      const pause = this.pausedUntil - this.now()
      if (pause > 0) await this.sleep(Math.min(pause, this.maxWaitMs))
      this.pausedUntil = 0
      const response = await this.fetch(url, signal)
      if (response.status === 429) {
        if (waits >= this.maxRateLimitWaits) {
          throw new AirlakeError(
            'UPSTREAM_FAILED',
            `OpenAQ kept answering 429 (rate limit) after ${waits} waits: the free tier allows 60 requests a minute and 2,000 an hour; try again later`,
            { details: { retryable: true, status: 429 } },
          )
        }
        await response.body?.cancel()
        await this.sleep(this.waitFor(response.headers))
        continue
      }
      this.notePausing(response.headers)
      const text = await response.text()
      if (response.status === 401 || response.status === 403) {
        throw new AirlakeError(
          'UPSTREAM_FAILED',
          this.apiKey
            ? `OpenAQ refused the API key (HTTP ${response.status}): check --api-key (or the source's "apiKey") against your key at https://explore.openaq.org`
            : `OpenAQ needs an API key (HTTP ${response.status}): get one at https://explore.openaq.org and pass --api-key (or OPENAQ_API_KEY)`,
          { details: { retryable: false, status: response.status } },
        )
      }
      if (response.status === 404 && notFoundIsAbsent) return undefined
      if (response.status === 410) {
        throw new AirlakeError(
          'UPSTREAM_FAILED',
          `OpenAQ answered 410 Gone for ${url.pathname}: v1 and v2 are retired; use a v3 base URL (${OPENAQ_BASE_URL})`,
          {
            details: { retryable: false, status: 410 },
          },
        )
      }
      if (response.status === 422) {
        throw new AirlakeError(
          'UPSTREAM_FAILED',
          `OpenAQ refused the query for ${url.pathname} (422): ${validationDetail(text)}`,
          {
            details: { retryable: false, status: 422 },
          },
        )
      }
      if (response.status >= 500) {
        throw new AirlakeError(
          'UPSTREAM_FAILED',
          `OpenAQ failed with HTTP ${response.status} at ${url.pathname}; airlake retries`,
          {
            details: { retryable: true, status: response.status },
          },
        )
      }
      if (!response.ok) {
        throw new AirlakeError(
          'UPSTREAM_FAILED',
          `OpenAQ answered HTTP ${response.status} to ${url.pathname}: ${text.slice(0, 200)}`,
          {
            details: { retryable: false, status: response.status },
          },
        )
      }
      try {
        const body = JSON.parse(text) as unknown
        if (typeof body === 'object' && body !== null && !Array.isArray(body))
          return body as Record<string, unknown>
      } catch {}
      throw this.garbage(
        url.pathname,
        `something that is not a JSON object (${JSON.stringify(text.slice(0, 80))})`,
      )
    }
  }

  private async fetch(url: URL, signal: AbortSignal | undefined): Promise<Response> {
    const timeout = AbortSignal.timeout(this.timeoutMs)
    try {
      return await fetch(url, {
        headers: { accept: 'application/json', ...(this.apiKey ? { 'x-api-key': this.apiKey } : {}) },
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      })
    } catch (error) {
      if (signal?.aborted) throw signal.reason ?? error
      const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message
      throw new AirlakeError(
        'UPSTREAM_FAILED',
        timeout.aborted
          ? `OpenAQ did not answer within ${this.timeoutMs / 1000} s (${url.pathname}); airlake retries`
          : `OpenAQ could not be reached at ${url.origin} (${cause}): check --base-url and the network`,
        { cause: error, details: { retryable: true } },
      )
    }
  }

  /** How long a 429 asks to wait: `retry-after`, else `x-ratelimit-reset`, else a minute. */
  private waitFor(headers: Headers): number {
    const seconds =
      this.secondsHeader(headers.get('retry-after')) ??
      this.secondsHeader(headers.get('x-ratelimit-reset')) ??
      60
    return Math.min(this.maxWaitMs, Math.max(0, seconds * 1000))
  }

  private notePausing(headers: Headers): void {
    if (headers.get('x-ratelimit-remaining') !== '0') return
    const seconds = this.secondsHeader(headers.get('x-ratelimit-reset'))
    if (seconds !== undefined) this.pausedUntil = this.now() + Math.min(this.maxWaitMs, seconds * 1000)
  }

  /** Seconds from a header that holds seconds to wait, or (when it is an epoch) the time to wait until. */
  private secondsHeader(value: string | null): number | undefined {
    if (value === null || value.trim() === '') return undefined
    const number = Number(value)
    if (Number.isFinite(number))
      return number > 1e9 ? Math.max(0, number - this.now() / 1000) : Math.max(0, number)
    const date = Date.parse(value)
    return Number.isFinite(date) ? Math.max(0, (date - this.now()) / 1000) : undefined
  }

  private garbage(path: string, what: string): AirlakeError {
    return new AirlakeError('UPSTREAM_FAILED', `OpenAQ answered ${path} with ${what}; airlake retries`, {
      details: { retryable: true },
    })
  }
}

function validationDetail(text: string): string {
  try {
    const detail = (JSON.parse(text) as { detail?: Array<{ loc?: unknown[]; msg?: string }> }).detail
    if (Array.isArray(detail))
      return detail.map((d) => `${(d.loc ?? []).join('.')}: ${d.msg ?? ''}`).join('; ')
  } catch {}
  return text.slice(0, 200)
}
