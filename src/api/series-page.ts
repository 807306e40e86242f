/**
 * One page of a device's series in the seed's envelope: reads the query, fetches one time more than the
 * limit (to know whether another page exists) as a grid, writes the envelope and issues the next token.
 * Shared by `GET /sensorsdata` and `GET /predictions`.
 */
import { randomUUID } from 'node:crypto'
import { AirlakeError } from '../core/errors.js'
import type { SeriesGrid, SeriesPageQuery } from '../core/ports/store.js'
import type { TimeMs } from '../core/time.js'
import {
  decodePageToken,
  encodePageToken,
  queryFingerprint,
  seriesEnvelopeJson,
  shownColumns,
} from './envelope.js'

/** The query string, after schema validation and coercion. */
export interface SeriesQuery {
  device: string
  from?: number | undefined
  to?: number | undefined
  measure?: string | undefined
  limit?: number | undefined
  nextToken?: string | undefined
}

/** Latest instant a query may reach when `to` is absent (the year 2200, as for timestamps). */
const NO_END: TimeMs = Date.UTC(2200, 0, 1)
export const DEFAULT_LIMIT = 1000

/**
 * Answers one page as the envelope's JSON text. `fetch` must honour `SeriesPageQuery` and answer as
 * `ReadingStore.readingsGrid` does. Throws PARAMETER_INVALID when `to` is before `from` or the token is not
 * this query's.
 */
export async function seriesPage(
  kind: 'readings' | 'predictions',
  query: SeriesQuery,
  fetch: (page: SeriesPageQuery) => Promise<SeriesGrid>,
): Promise<string> {
  const from = (query.from ?? 0) * 1000
  // `to` is in whole seconds and inclusive: everything up to the end of that second.
  const to = query.to === undefined ? NO_END : query.to * 1000 + 999
  if (query.from !== undefined && query.to !== undefined && query.to < query.from) {
    throw new AirlakeError(
      'PARAMETER_INVALID',
      `to (${query.to}) is before from (${query.from}): give unix seconds with from <= to`,
    )
  }
  const measures = query.measure === undefined ? undefined : [...new Set(query.measure.split(','))]
  const limit = query.limit ?? DEFAULT_LIMIT
  const fingerprint = queryFingerprint({ kind, device: query.device, from, to, measures })
  const cursor = query.nextToken === undefined ? undefined : decodePageToken(query.nextToken, fingerprint)

  const grid = await fetch({
    deviceId: query.device,
    from,
    to,
    measures,
    before: cursor?.before,
    limitTimes: limit + 1,
  })
  // One time more than the limit came back: there is another page, older than this one's oldest time.
  const more = grid.times.length > limit
  const rows = more ? limit : grid.times.length
  const pages = cursor?.pages ?? 0
  return seriesEnvelopeJson({
    sourceType: kind === 'readings' ? 'SensorsData' : 'Predictions',
    grid,
    rows,
    columns: shownColumns(grid, rows, measures !== undefined),
    queryId: randomUUID(),
    pagesConsumed: pages,
    nextToken: more
      ? encodePageToken({ before: grid.times[limit - 1]!, pages: pages + 1, fingerprint })
      : null,
  })
}
