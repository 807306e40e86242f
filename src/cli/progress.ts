/**
 * Progress for long commands (DESIGN.md section 5): a bar redrawn in place on a terminal, plain lines
 * otherwise (at most one every few seconds, so logs stay short). Progress goes to stderr; the closing
 * summary is the command's to print on stdout.
 */

export interface ProgressUpdate {
  /** Work done and the total, in the same unit (bytes, pages); `total` undefined when unknown. */
  done: number
  total?: number | undefined
  /** What to show after the bar, e.g. `12,000 rows, 11,990 stored, 10 rejected`. */
  detail: string
}

export interface ProgressReporter {
  update(progress: ProgressUpdate): void
  /** Clears the bar (a terminal) so the summary starts on a clean line. */
  end(): void
}

export interface ProgressOptions {
  stream?: Pick<NodeJS.WriteStream, 'write'> & { isTTY?: boolean; columns?: number }
  /** Shortest time between two redraws on a terminal; 100 ms by default. */
  redrawMs?: number
  /** Shortest time between two plain lines; 5 s by default. */
  lineMs?: number
  now?: () => number
}

const BAR_WIDTH = 24

/**
 * A progress reporter labelled `label` (e.g. the file name).
 * @example
 * const progress = progressReporter('readings.csv')
 * progress.update({ done: bytesRead, total: bytesTotal, detail: `${rows} rows` })
 * progress.end()
 */
export function progressReporter(label: string, options: ProgressOptions = {}): ProgressReporter {
  const stream = options.stream ?? process.stderr
  const tty = stream.isTTY === true
  const interval = tty ? (options.redrawMs ?? 100) : (options.lineMs ?? 5_000)
  const now = options.now ?? Date.now
  // Off a terminal the first line waits one interval too, so a short job prints only its last state.
  let last = tty ? Number.NEGATIVE_INFINITY : now()
  let drawn = false
  let pending: ProgressUpdate | undefined
  return {
    update(progress) {
      const finished = tty && progress.total !== undefined && progress.done >= progress.total
      pending = progress
      if (!finished && now() - last < interval) return
      last = now()
      pending = undefined
      if (tty) {
        const line = `${label} ${bar(progress)} ${progress.detail}`
        const width = stream.columns ?? 120
        stream.write(`\r\x1b[2K${line.length > width - 1 ? line.slice(0, width - 1) : line}`)
        drawn = true
      } else {
        stream.write(`${label}: ${percent(progress)}${progress.detail}\n`)
      }
    },
    end() {
      if (pending !== undefined && !tty) stream.write(`${label}: ${percent(pending)}${pending.detail}\n`)
      pending = undefined
      if (drawn) stream.write('\r\x1b[2K')
      drawn = false
    },
  }
}

function fraction(progress: ProgressUpdate): number | undefined {
  if (progress.total === undefined || progress.total <= 0) return undefined
  return Math.min(1, Math.max(0, progress.done / progress.total))
}

function percent(progress: ProgressUpdate): string {
  const share = fraction(progress)
  return share === undefined ? '' : `${Math.floor(share * 100)}%, `
}

function bar(progress: ProgressUpdate): string {
  const share = fraction(progress)
  if (share === undefined) return `[${'?'.repeat(BAR_WIDTH)}]`
  const full = Math.round(share * BAR_WIDTH)
  return `[${'#'.repeat(full)}${'-'.repeat(BAR_WIDTH - full)}] ${String(Math.floor(share * 100)).padStart(3)}%`
}

/** `1,234,567` */
export function count(n: number): string {
  return n.toLocaleString('en-US')
}

/** Bytes as `12.3 MB`. */
export function megabytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`
}
