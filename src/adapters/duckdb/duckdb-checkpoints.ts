/**
 * Checkpoints of the embedded store, taken off the write path.
 *
 * DuckDB checkpoints by itself when a commit finds its write-ahead log past `checkpoint_threshold` (16 MB),
 * inside that commit: on the writer connection and, for an appender's flush, on the JavaScript thread. Every
 * request then waited for it (250–450 ms each 16 MB of log, growing with the table, on a 1,000-device fleet).
 * So the threshold is raised out of the way, to a safety net, and a connection of its own checkpoints
 * whenever the log passes `CHECKPOINT_WAL_BYTES`; DuckDB lets the writer commit meanwhile.
 */
import { stat } from 'node:fs/promises'
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api'
import type { Logger } from '../../core/ports/logger.js'

/** Log size past which a checkpoint starts (DuckDB's own default threshold). */
const CHECKPOINT_WAL_BYTES = 16 * 1024 * 1024
/** Where DuckDB would checkpoint by itself: only if these checkpoints fell this far behind. */
const SAFETY_THRESHOLD = '1GB'
const CHECK_EVERY_MS = 2000

export class Checkpointer {
  private running: Promise<void> | undefined
  private readonly timer: NodeJS.Timeout
  private stopped = false

  private constructor(
    private readonly connection: DuckDBConnection,
    private readonly walPath: string,
    private readonly logger: Logger,
  ) {
    this.timer = setInterval(() => this.check(), CHECK_EVERY_MS)
    this.timer.unref()
  }

  /** Starts checkpointing the database file at `path` (nothing to do for `:memory:`). */
  static async start(
    instance: DuckDBInstance,
    path: string,
    logger: Logger,
  ): Promise<Checkpointer | undefined> {
    if (path === ':memory:') return undefined
    const connection = await instance.connect()
    try {
      await connection.run(`SET checkpoint_threshold = '${SAFETY_THRESHOLD}'`)
    } catch (error) {
      connection.closeSync()
      throw error
    }
    return new Checkpointer(connection, `${path}.wal`, logger)
  }

  /** Stops checking, waits for a running checkpoint and closes the connection (closing the store checkpoints). */
  async stop(): Promise<void> {
    this.stopped = true
    clearInterval(this.timer)
    await this.running
    this.connection.closeSync()
  }

  /**
   * Checkpoints now, whatever the log's size (after a rewrite, so that the rows it deleted leave the file and
   * the scans); joins a checkpoint already running, then takes one of its own.
   */
  async checkpointNow(): Promise<void> {
    while (this.running !== undefined) await this.running
    this.check(0)
    await this.running
  }

  private check(threshold = CHECKPOINT_WAL_BYTES): void {
    if (this.stopped || this.running !== undefined) return
    this.running = stat(this.walPath)
      .then(async (wal) => {
        if (wal.size < threshold || this.stopped) return
        const started = performance.now()
        await this.connection.run('CHECKPOINT')
        this.logger.debug('checkpointed the store', {
          walBytes: wal.size,
          ms: Math.round(performance.now() - started),
        })
      })
      .catch((error: unknown) => {
        // No log yet (nothing written since the last checkpoint) is the quiet case.
        if ((error as { code?: string }).code === 'ENOENT') return
        this.logger.warn('checkpoint failed; DuckDB checkpoints by itself past the safety threshold', {
          error: String(error),
        })
      })
      .finally(() => {
        this.running = undefined
      })
  }
}
