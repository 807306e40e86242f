/** Times as the embedded store hands them to DuckDB. */
import { type DuckDBTimestampValue, timestampValue } from '@duckdb/node-api'
import type { TimeMs } from '../../core/time.js'

/** Epoch ms as a DuckDB `TIMESTAMP` (microseconds, UTC), to bind or append. */
export function ts(time: TimeMs): DuckDBTimestampValue {
  return timestampValue(BigInt(time) * 1000n)
}
