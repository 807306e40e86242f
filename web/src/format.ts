/** Formatting for people: numbers, ages, durations, times. Times are epoch ms, shown in local time. */

const SECOND = 1000
const MINUTE = 60 * SECOND
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR

/** Units for the measures airlake knows; others show bare. */
const UNITS: Record<string, string> = {
  temperature: '°C',
  humidity: '%RH',
  pressure: 'kPa',
  iaq: '',
  co2: 'ppm',
  voc: 'ppm',
  pm25: 'µg/m³',
  pm10: 'µg/m³',
  no2: 'µg/m³',
  o3: 'µg/m³',
}

/** Units written at the end of a measure's name, as airlake names them (`nox_ppb`, `wind_speed_ms`, `pm25_ugm3`). */
const UNIT_SUFFIXES: Record<string, string> = {
  ppb: 'ppb',
  ppm: 'ppm',
  ms: 'm/s',
  ugm3: 'µg/m³',
  pct: '%',
  kpa: 'kPa',
  hpa: 'hPa',
}

const KNOWN_LABELS: Record<string, string> = {
  iaq: 'IAQ',
  co2: 'CO₂',
  voc: 'VOC',
  pm25: 'PM2.5',
  pm10: 'PM10',
  no2: 'NO₂',
  nox: 'NOx',
  o3: 'O₃',
}

/** A measure name split into its words and its unit suffix: `wind_speed_ms` -> `wind_speed`, `m/s`. */
function splitUnit(measure: string): { base: string; unit: string } {
  const m = /^(.+)_([a-z0-9]+)$/i.exec(measure)
  const unit = m ? UNIT_SUFFIXES[m[2]!.toLowerCase()] : undefined
  return m && unit ? { base: m[1]!, unit } : { base: measure, unit: '' }
}

export function unitOf(measure: string): string {
  return UNITS[measure.toLowerCase()] ?? splitUnit(measure).unit
}

/** A measure name for a heading: `co2` -> `CO₂`, `iaq` -> `IAQ`, `nox_ppb` -> `NOx`, `wind_speed_ms` -> `Wind speed`. */
export function measureLabel(measure: string): string {
  const { base } = splitUnit(measure)
  const words = base
    .split('_')
    .map((word) => KNOWN_LABELS[word.toLowerCase()] ?? word)
    .join(' ')
  return words.charAt(0).toUpperCase() + words.slice(1)
}

/** A value with about 3 significant digits, and its unit when known. */
export function formatValue(value: number | null | undefined, measure?: string): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '–'
  const abs = Math.abs(value)
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : 2
  const text = value.toLocaleString(undefined, { maximumFractionDigits: digits, minimumFractionDigits: 0 })
  const unit = measure ? unitOf(measure) : ''
  return unit ? `${text} ${unit}` : text
}

/** `12 s ago`, `5 min ago`, `3 h ago`, `2 d ago`; future times say `in …`. */
export function formatAge(time: number, now = Date.now()): string {
  const delta = now - time
  const text = formatDuration(Math.abs(delta), true)
  if (Math.abs(delta) < 5 * SECOND) return 'just now'
  return delta >= 0 ? `${text} ago` : `in ${text}`
}

/** A duration: `850 ms`, `12.4 s`, `3 min 5 s`, `2 h 10 min`, `3 d 4 h`. */
export function formatDuration(ms: number, coarse = false): string {
  if (!Number.isFinite(ms) || ms < 0) return '–'
  if (ms < SECOND) return coarse ? `${Math.round(ms / SECOND)} s` : `${Math.round(ms)} ms`
  if (ms < MINUTE) return coarse ? `${Math.round(ms / SECOND)} s` : `${(ms / SECOND).toFixed(1)} s`
  if (ms < HOUR) {
    const s = Math.round((ms % MINUTE) / SECOND)
    return coarse || s === 0 ? `${Math.floor(ms / MINUTE)} min` : `${Math.floor(ms / MINUTE)} min ${s} s`
  }
  if (ms < DAY) {
    const m = Math.round((ms % HOUR) / MINUTE)
    return coarse || m === 0 ? `${Math.floor(ms / HOUR)} h` : `${Math.floor(ms / HOUR)} h ${m} min`
  }
  const hours = Math.round((ms % DAY) / HOUR)
  return coarse || hours === 0 ? `${Math.floor(ms / DAY)} d` : `${Math.floor(ms / DAY)} d ${hours} h`
}

/** `23 Nov 14:05` (local), with the year when not this year. */
export function formatTime(time: number | undefined): string {
  if (time === undefined || !Number.isFinite(time)) return '–'
  const date = new Date(time)
  const sameYear = date.getFullYear() === new Date().getFullYear()
  return date.toLocaleString(undefined, {
    day: 'numeric',
    month: 'short',
    year: sameYear ? undefined : 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    hour12: false,
  })
}

/** How fresh a device is, from the age of its last reading. */
export function freshness(lastSeen: number | undefined, now = Date.now()): 'live' | 'recent' | 'stale' {
  if (lastSeen === undefined) return 'stale'
  const age = now - lastSeen
  if (age <= 5 * MINUTE) return 'live'
  if (age <= HOUR) return 'recent'
  return 'stale'
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`
  return `${(n / 1024 / 1024).toFixed(1)} MB`
}

export { DAY, HOUR, MINUTE, SECOND }
