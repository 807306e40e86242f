/**
 * Real ingestion dependencies for the source tests: a DuckDB store and a folder lake in a temp dir, the
 * in-process bus, the bronze writer. `close()` releases and deletes everything.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DuckdbStore } from '../../src/adapters/duckdb/duckdb-store.js'
import { readRecords } from '../../src/adapters/files/read-records.js'
import { FsLake } from '../../src/adapters/fs-lake/fs-lake.js'
import { InProcessBus } from '../../src/adapters/in-process/in-process-bus.js'
import { OpenaqClient } from '../../src/adapters/openaq/openaq-client.js'
import { VendorApiClient } from '../../src/adapters/vendor-api/vendor-api-client.js'
import { systemClock } from '../../src/core/ports/clock.js'
import { silentLogger } from '../../src/core/ports/logger.js'
import { BronzeWriter } from '../../src/pipeline/bronze.js'
import type { IngestDeps } from '../../src/pipeline/ingest.js'
import type { SourceAdapters } from '../../src/pipeline/source-adapters.js'

export interface SourceTestDeps extends IngestDeps {
  dir: string
  lake: FsLake
  store: DuckdbStore
  adapters: SourceAdapters
  close(): Promise<void>
}

export async function openSourceTestDeps(): Promise<SourceTestDeps> {
  const dir = await mkdtemp(join(tmpdir(), 'airlake-sources-'))
  const store = await DuckdbStore.open(join(dir, 'airlake.duckdb'))
  const lake = new FsLake(join(dir, 'lake'))
  const bus = new InProcessBus()
  const bronze = new BronzeWriter(lake, systemClock)
  return {
    dir,
    store,
    lake,
    bus,
    bronze,
    clock: systemClock,
    logger: silentLogger,
    adapters: {
      readRecords,
      createVendorClient: (options) => new VendorApiClient(options),
      createOpenaqClient: (options) => new OpenaqClient(options),
    },
    async close() {
      await bronze.close()
      await bus.close()
      await store.close()
      await rm(dir, { recursive: true, force: true })
    },
  }
}
