/**
 * A separate process for test/silver-crash.test.ts to kill: promotes the bronze of the lake in folder
 * `argv[2]` to silver, printing `progress <segments done>` after each staged segment and `done` at the end.
 */
import { join } from 'node:path'
import { DuckdbColumnar } from '../src/adapters/duckdb/duckdb-columnar.js'
import { FsLake } from '../src/adapters/fs-lake/fs-lake.js'
import { systemClock } from '../src/core/ports/clock.js'
import { silentLogger } from '../src/core/ports/logger.js'
import { promoteToSilver } from '../src/pipeline/to-silver.js'

const dir = process.argv[2]
if (dir === undefined) throw new Error('usage: lake-silver-child.ts <folder holding lake/>')
const lake = await FsLake.open(join(dir, 'lake'))
const columnar = await DuckdbColumnar.open({ threads: 1 })
await promoteToSilver(
  { lake, columnar, clock: systemClock, logger: silentLogger },
  { onProgress: (progress) => process.stdout.write(`progress ${progress.segmentsDone}\n`) },
)
await columnar.close()
process.stdout.write('done\n')
