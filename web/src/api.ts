/**
 * The dashboard's only way to the server: the public REST API (DESIGN.md section 4), same origin,
 * with the session's key in `x-api-key`. API errors (`{"error":{"code","message"}}`) become
 * `ApiError`s whose message is the server's, for the page to show as is.
 */

/** An error answer from the API, or a network failure (`status` 0, code `NETWORK`). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
    this.name = 'ApiError'
  }
}

/** The seed's envelope (`reference/indoor-sensors-api.md`). */
interface Envelope {
  Records: Array<Array<string | number | null>>
  Metadata: { ColumnName: string[]; ColumnType?: string[] }
  ExecutionInfo?: { NextToken?: string | null }
}

/** A time series table: ascending times (epoch ms) and one value array per column, aligned with it. */
export interface SeriesTable {
  times: number[]
  columns: Map<string, Array<number | null>>
}

type Query = Record<string, string | number | undefined>

/** Tries of a read the server refused with 429 (load shedding) before its message is shown. */
const MAX_ATTEMPTS = 4

/** Pages followed per table request at most: 5 store pages each, enough for a week at one minute. */
const MAX_PAGES = 40

export class Api {
  constructor(
    private readonly key: string,
    private readonly onUnauthorized: (error: ApiError) => void = () => {},
  ) {}

  /** GET `path` as JSON. */
  get<T>(path: string, query?: Query): Promise<T> {
    return this.request<T>('GET', withQuery(path, query))
  }

  /** POST a JSON body; answers the JSON reply. */
  post<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('POST', path, body)
  }

  /**
   * A seed-envelope endpoint (`/sensorsdata`, `/predictions`) as one ascending table, following
   * `NextToken` until the data ends. Values that are not numbers become `null`.
   */
  async table(path: string, query: Query, options: { maxPages?: number } = {}): Promise<SeriesTable> {
    const rows = new Map<number, Map<string, number | null>>()
    const names = new Set<string>()
    let nextToken: string | undefined
    for (let page = 0; page < (options.maxPages ?? MAX_PAGES); page++) {
      const envelope = await this.get<Envelope>(path, { limit: 10_000, ...query, nextToken })
      const columns = envelope.Metadata?.ColumnName ?? []
      const timeIndex = Math.max(0, columns.indexOf('time'))
      for (const record of envelope.Records ?? []) {
        const time = parseRecordTime(record[timeIndex])
        if (time === undefined) continue
        let row = rows.get(time)
        if (!row) {
          row = new Map()
          rows.set(time, row)
        }
        columns.forEach((name, i) => {
          if (i === timeIndex || name === 'device' || name === 'device_id') return
          names.add(name)
          const value = toNumber(record[i])
          if (value !== null || !row.has(name)) row.set(name, value)
        })
      }
      nextToken = envelope.ExecutionInfo?.NextToken ?? undefined
      if (!nextToken) break
    }
    const times = [...rows.keys()].sort((a, b) => a - b)
    const columns = new Map<string, Array<number | null>>()
    for (const name of names)
      columns.set(
        name,
        times.map((t) => rows.get(t)?.get(name) ?? null),
      )
    return { times, columns }
  }

  /** Fetches a download (CSV export) with the key and hands it to the browser as a file. */
  async download(path: string, query: Query, fallbackName: string): Promise<{ name: string; bytes: number }> {
    const response = await this.fetch('GET', withQuery(path, query))
    const blob = await response.blob()
    const disposition = response.headers.get('content-disposition') ?? ''
    const name = /filename="?([^";]+)"?/.exec(disposition)?.[1] ?? fallbackName
    const url = URL.createObjectURL(blob)
    const link = document.createElement('a')
    link.href = url
    link.download = name
    document.body.appendChild(link)
    link.click()
    link.remove()
    setTimeout(() => URL.revokeObjectURL(url), 10_000)
    return { name, bytes: blob.size }
  }

  /**
   * The routes this server offers, as `GET /models`, `POST /models/{name}/aliases` (from the public
   * `/openapi.json`), so pages can say what is not available instead of calling what is not there; or
   * `undefined` when the document cannot be read (then every route is assumed present).
   */
  async routes(): Promise<Set<string> | undefined> {
    try {
      const response = await fetch('/openapi.json', { headers: { accept: 'application/json' } })
      if (!response.ok) return undefined
      const document = (await response.json()) as { paths?: Record<string, Record<string, unknown>> }
      const routes = new Set<string>()
      for (const [path, methods] of Object.entries(document.paths ?? {})) {
        for (const method of Object.keys(methods)) routes.add(`${method.toUpperCase()} ${path}`)
      }
      return routes
    } catch {
      return undefined
    }
  }

  /** The headers every call carries (also used by the live feed). */
  headers(): Record<string, string> {
    return { 'x-api-key': this.key }
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await this.fetch(method, path, body)
    if (response.status === 204) return undefined as T
    const text = await response.text()
    if (!text) return undefined as T
    try {
      return JSON.parse(text) as T
    } catch {
      throw new ApiError(
        response.status,
        'BAD_RESPONSE',
        `The server sent something that is not JSON for ${path}.`,
      )
    }
  }

  private async fetch(method: string, path: string, body?: unknown): Promise<Response> {
    const headers: Record<string, string> = { ...this.headers(), accept: 'application/json' }
    if (body !== undefined) headers['content-type'] = 'application/json'
    let response: Response
    for (let attempt = 1; ; attempt++) {
      try {
        response = await fetch(path, {
          method,
          headers,
          body: body === undefined ? null : JSON.stringify(body),
        })
      } catch {
        throw new ApiError(
          0,
          'NETWORK',
          'The server cannot be reached. Check that airlake is running, then retry.',
        )
      }
      // A busy server sheds load with 429 and says when to come back: reads wait and ask again.
      if (response.status !== 429 || method !== 'GET' || attempt >= MAX_ATTEMPTS) break
      await response.body?.cancel()
      const seconds = Number(response.headers.get('retry-after'))
      await new Promise((resolve) => setTimeout(resolve, 1000 * (seconds > 0 ? Math.min(seconds, 10) : 1)))
    }
    if (response.ok) return response
    const error = await readError(response)
    if (response.status === 401) this.onUnauthorized(error)
    throw error
  }
}

async function readError(response: Response): Promise<ApiError> {
  const text = await response.text().catch(() => '')
  try {
    const parsed = JSON.parse(text) as { error?: { code?: string; message?: string } }
    if (parsed.error?.message) {
      return new ApiError(
        response.status,
        parsed.error.code ?? `HTTP_${response.status}`,
        parsed.error.message,
      )
    }
  } catch {
    // not JSON: fall through to a message made from the status
  }
  const status = `${response.status} ${response.statusText}`.trim()
  return new ApiError(response.status, `HTTP_${response.status}`, `The server answered ${status}.`)
}

function withQuery(path: string, query?: Query): string {
  if (!query) return path
  const params = new URLSearchParams()
  for (const [name, value] of Object.entries(query)) if (value !== undefined) params.set(name, String(value))
  const text = params.toString()
  return text ? `${path}?${text}` : path
}

/** `YYYY-MM-DD HH:MM:SS[.fffffffff]` (UTC, the envelope's form), ISO 8601 or epoch ms -> epoch ms. */
export function parseRecordTime(value: unknown): number | undefined {
  if (typeof value === 'number') return value
  if (typeof value !== 'string') return undefined
  const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?/.exec(value)
  if (m && !/[zZ+]|-\d\d:?\d\d$/.test(value.slice(19))) {
    const ms = m[7] ? Number(m[7].slice(0, 3).padEnd(3, '0')) : 0
    return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!, ms)
  }
  const parsed = Date.parse(value)
  return Number.isNaN(parsed) ? undefined : parsed
}

function toNumber(value: unknown): number | null {
  if (value === null || value === undefined || value === '') return null
  const n = typeof value === 'number' ? value : Number(value)
  return Number.isFinite(n) ? n : null
}

/** A readable message for anything thrown. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message
  return String(error)
}
