/**
 * The indoor-sensor vendor's REST API (reference/indoor-sensors-api.md): Bearer token, a deadline on
 * every call, and typed UPSTREAM_FAILED errors that say what to check and whether a retry can help.
 */
import { AirlakeError } from '../../core/errors.js'
import { getJson } from './http-json.js'

export interface VendorApiClientOptions {
  /** Base URL, e.g. `https://vendor.example.com` (the `/api/...` paths are added). */
  url: string
  token: string
  /** Deadline per request; 10 s by default. */
  timeoutMs?: number | undefined
}

/** A reading object of the API with its JSON text. */
export interface VendorApiItem {
  raw: string
  body: unknown
}

export class VendorApiClient {
  readonly url: string
  private readonly token: string
  private readonly timeoutMs: number

  constructor(options: VendorApiClientOptions) {
    let base: URL
    try {
      base = new URL(options.url)
    } catch {
      throw new AirlakeError(
        'CONFIG_INVALID',
        `the vendor URL ${JSON.stringify(options.url)} is not a URL: write it like https://vendor.example.com`,
      )
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:') {
      throw new AirlakeError(
        'CONFIG_INVALID',
        `the vendor URL must start with http:// or https://, got ${base.protocol}`,
      )
    }
    if (!options.token)
      throw new AirlakeError('CONFIG_INVALID', 'the vendor token is empty: give the token the vendor issued')
    this.url = base.href.replace(/\/$/, '')
    this.token = options.token
    this.timeoutMs = options.timeoutMs ?? 10_000
  }

  /** `GET /api/sensor_readings?latest=true`: the latest reading of every device, in the API's order. */
  async latestReadings(signal?: AbortSignal): Promise<VendorApiItem[]> {
    return this.readings({ latest: 'true' }, signal)
  }

  /** `GET /api/sensor_readings?devid&startTs&endTs`: one device's history between two unix-second bounds. */
  async history(
    deviceId: string,
    fromSeconds: number,
    toSeconds: number,
    signal?: AbortSignal,
  ): Promise<VendorApiItem[]> {
    return this.readings(
      { devid: deviceId, startTs: String(Math.floor(fromSeconds)), endTs: String(Math.floor(toSeconds)) },
      signal,
    )
  }

  /** `GET /api/sensor_devices`: the devices with their names. */
  async devices(signal?: AbortSignal): Promise<Array<{ devid: string; name?: string }>> {
    const body = await this.get('/api/sensor_devices', {}, signal)
    const devices = (body as { devices?: unknown }).devices
    if (!Array.isArray(devices)) throw this.garbage('/api/sensor_devices', 'no "devices" list')
    return devices.filter(
      (d): d is { devid: string; name?: string } =>
        typeof d === 'object' && d !== null && typeof d.devid === 'string',
    )
  }

  private async readings(query: Record<string, string>, signal?: AbortSignal): Promise<VendorApiItem[]> {
    const body = (await this.get('/api/sensor_readings', query, signal)) as {
      readings?: unknown
      success?: unknown
    }
    if (body.success === false) throw this.garbage('/api/sensor_readings', '"success": false')
    if (!Array.isArray(body.readings)) throw this.garbage('/api/sensor_readings', 'no "readings" list')
    return body.readings.map((item) => ({ raw: JSON.stringify(item), body: item as unknown }))
  }

  private async get(path: string, query: Record<string, string>, signal?: AbortSignal): Promise<unknown> {
    const url = new URL(`${this.url}${path}`)
    for (const [key, value] of Object.entries(query)) url.searchParams.set(key, value)
    const result = await getJson(url, {
      headers: { authorization: `Bearer ${this.token}` },
      timeoutMs: this.timeoutMs,
      what: 'the vendor API',
      signal,
    })
    if (result.status === 401 || result.status === 403) {
      throw new AirlakeError(
        'UPSTREAM_FAILED',
        `the vendor rejected the token (HTTP ${result.status}): check --token (or the source's "token") is the one the vendor issued and has not expired`,
        { details: { retryable: false, status: result.status } },
      )
    }
    if (result.status === 404) {
      throw new AirlakeError(
        'UPSTREAM_FAILED',
        `the vendor API has no ${path} at ${this.url} (HTTP 404): check the base URL`,
        {
          details: { retryable: false, status: 404 },
        },
      )
    }
    if (result.status < 200 || result.status >= 300) {
      throw new AirlakeError(
        'UPSTREAM_FAILED',
        `the vendor API answered HTTP ${result.status} to ${path}: ${result.text.slice(0, 200)}`,
        {
          details: { retryable: result.status === 429 || result.status === 408, status: result.status },
        },
      )
    }
    if (typeof result.body !== 'object' || result.body === null) throw this.garbage(path, 'not a JSON object')
    return result.body
  }

  private garbage(path: string, what: string): AirlakeError {
    return new AirlakeError(
      'UPSTREAM_FAILED',
      `the vendor API answered ${path} with ${what}: it may be failing; airlake retries`,
      {
        details: { retryable: true },
      },
    )
  }
}
