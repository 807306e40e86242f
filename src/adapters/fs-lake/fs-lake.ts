/**
 * FsLake: the lake as a folder on this machine's disk (`LAKE_URL=file:<path>`, the embedded default).
 *
 * - `put`/`putFile` write a hidden temporary file beside the target, fsync it, then publish it with
 *   `link` (fails if the key exists: immutable objects) or `rename` (`overwrite`), so readers see all or nothing.
 * - Published objects and sealed segments are read-only files (mode 0444); `append` refuses them. The
 *   check is ours, not the kernel's, so it holds for root too.
 * - `append` keeps a small cache of open file handles; concurrent appends to one segment share an fsync
 *   (group commit), and a promise resolves only once its bytes are on disk.
 * - Names starting with `.` are never keys: temporary files are hidden from `list`, `get` and `exists`.
 *   Those a crashed writer left behind are removed by the next publish in their folder once an hour old.
 */
import { randomBytes } from 'node:crypto'
import { createReadStream } from 'node:fs'
import {
  chmod,
  copyFile,
  type FileHandle,
  link,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  stat,
  unlink,
} from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { AirlakeError, wrapError } from '../../core/errors.js'
import type { Lake, LakeObject } from '../../core/ports/lake.js'

const READ_ONLY = 0o444
const WRITABLE = 0o644
const KEY_PART = /^[A-Za-z0-9_=:@+-][A-Za-z0-9_.=:@+-]*$/
const TEMP_NAME = /^\.[0-9a-f]{12}\.tmp$/
// Older than any write in progress could be: a temporary file this old was left by a crash.
const STALE_TEMP_MS = 3_600_000

/** Checks `key` is a safe relative lake key (`a/b/c.ext`); throws PARAMETER_INVALID naming the problem. */
export function checkLakeKey(key: string): string {
  const parts = key.split('/')
  const bad =
    key.length === 0 || key.length > 1024 || parts.some((part) => !KEY_PART.test(part) || part === '..')
  if (bad) {
    throw new AirlakeError(
      'PARAMETER_INVALID',
      `lake key ${JSON.stringify(key)} is not allowed: use "/"-separated names of letters, digits and "_.=:@+-", ` +
        'none empty or starting with ".", no leading "/" (e.g. "silver/http/date=2024-01-31/part-0.parquet")',
    )
  }
  return key
}

function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined
}

/** One open append segment: its handle and the group-commit state of its fsyncs. */
class OpenSegment {
  private syncing: Promise<void> | undefined
  private queued: Promise<void> | undefined
  /** Appends in flight; the handle is closed only when none are. */
  pending = 0

  constructor(readonly handle: FileHandle) {}

  async write(bytes: Uint8Array): Promise<void> {
    let offset = 0
    while (offset < bytes.byteLength) {
      const { bytesWritten } = await this.handle.write(bytes, offset, bytes.byteLength - offset)
      offset += bytesWritten
    }
  }

  /** Resolves once everything written before the call is on disk; one fsync serves every waiter that arrived during the previous one. */
  sync(): Promise<void> {
    if (this.queued) return this.queued
    if (this.syncing) {
      const queued = this.syncing
        .catch(() => {})
        .then(() => {
          this.queued = undefined
          return this.startSync()
        })
      this.queued = queued
      return queued
    }
    return this.startSync()
  }

  private startSync(): Promise<void> {
    const syncing = this.handle.datasync().finally(() => {
      if (this.syncing === syncing) this.syncing = undefined
    })
    this.syncing = syncing
    return syncing
  }
}

export interface FsLakeOptions {
  /** Open append handles kept at most (least recently used closed first). Default 64. */
  maxOpenSegments?: number
}

/** The lake as a local folder; see the module comment for the guarantees. */
export class FsLake implements Lake {
  readonly kind = 'file'
  readonly location: string
  private readonly segments = new Map<string, Promise<OpenSegment>>()
  private readonly maxOpenSegments: number

  constructor(root: string, options: FsLakeOptions = {}) {
    this.location = resolve(root)
    this.maxOpenSegments = options.maxOpenSegments ?? 64
  }

  /** Opens the lake at `root` (a path or a `file:` URL), creating the folder. */
  static async open(root: string, options: FsLakeOptions = {}): Promise<FsLake> {
    const path = root.startsWith('file://') ? new URL(root).pathname : root.replace(/^file:/, '')
    const lake = new FsLake(path, options)
    try {
      await mkdir(lake.location, { recursive: true })
    } catch (error) {
      throw wrapError(
        error,
        'LAKE_UNAVAILABLE',
        `cannot create the lake folder ${lake.location} (check LAKE_URL and permissions)`,
      )
    }
    return lake
  }

  localPath(key: string): string {
    return join(this.location, checkLakeKey(key))
  }

  async put(key: string, body: Uint8Array | string, options?: { overwrite?: boolean }): Promise<void> {
    await this.publish(key, options?.overwrite === true, async (temp) => {
      const handle = await open(temp, 'wx', WRITABLE)
      try {
        await handle.writeFile(body)
        await handle.sync()
      } finally {
        await handle.close()
      }
    })
  }

  async putFile(key: string, localPath: string, options?: { overwrite?: boolean }): Promise<void> {
    await this.publish(key, options?.overwrite === true, async (temp) => {
      await copyFile(localPath, temp)
      const handle = await open(temp, 'r+')
      try {
        await handle.sync()
      } finally {
        await handle.close()
      }
    })
  }

  /** Writes the object to a hidden temporary file beside `key`, then publishes it atomically. */
  private async publish(
    key: string,
    overwrite: boolean,
    write: (temp: string) => Promise<void>,
  ): Promise<void> {
    const path = this.localPath(key)
    const dir = dirname(path)
    const temp = join(dir, `.${randomBytes(6).toString('hex')}.tmp`)
    try {
      await mkdir(dir, { recursive: true })
      await removeStaleTemps(dir)
      await write(temp)
      await chmod(temp, READ_ONLY)
      if (overwrite) {
        await this.closeSegment(key)
        await rename(temp, path)
      } else {
        // link() fails with EEXIST when the key exists, atomically: two writers cannot both win.
        await link(temp, path)
        await unlink(temp)
      }
      await syncDirectory(dir)
    } catch (error) {
      await unlink(temp).catch(() => {})
      if (errorCode(error) === 'EEXIST') {
        throw new AirlakeError(
          'OBJECT_EXISTS',
          `lake object ${key} already exists in ${this.location}; objects are immutable`,
        )
      }
      if (errorCode(error) === 'ENOENT' && !(await pathExists(dir))) {
        throw wrapError(
          error,
          'LAKE_UNAVAILABLE',
          `cannot write ${key}: the lake folder ${this.location} is gone`,
        )
      }
      throw wrapError(error, 'LAKE_UNAVAILABLE', `cannot write ${key} in ${this.location}`)
    }
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const path = this.localPath(key)
    try {
      return new Uint8Array(await readFile(path))
    } catch (error) {
      if (isAbsent(error)) return undefined
      throw wrapError(error, 'LAKE_UNAVAILABLE', `cannot read ${key} from ${this.location}`)
    }
  }

  async getStream(key: string): Promise<NodeJS.ReadableStream | undefined> {
    const path = this.localPath(key)
    let handle: FileHandle
    try {
      handle = await open(path, 'r')
      if (!(await handle.stat()).isFile()) {
        await handle.close()
        return undefined
      }
    } catch (error) {
      if (isAbsent(error)) return undefined
      throw wrapError(error, 'LAKE_UNAVAILABLE', `cannot read ${key} from ${this.location}`)
    }
    // The stream owns the open handle: a concurrent overwrite (rename) cannot change what it reads.
    return createReadStream('', { fd: handle, autoClose: true })
  }

  async exists(key: string): Promise<boolean> {
    try {
      return (await stat(this.localPath(key))).isFile()
    } catch (error) {
      if (isAbsent(error)) return false
      throw wrapError(error, 'LAKE_UNAVAILABLE', `cannot look up ${key} in ${this.location}`)
    }
  }

  async *list(prefix: string): AsyncIterable<LakeObject> {
    if (prefix.startsWith('/') || prefix.split('/').includes('..')) checkLakeKey(prefix)
    const slash = prefix.lastIndexOf('/')
    const base = slash < 0 ? '' : prefix.slice(0, slash + 1)
    yield* this.walk(base, prefix)
  }

  /** Objects under folder `base` (`''` or ending in `/`) whose key starts with `prefix`, in key order. */
  private async *walk(base: string, prefix: string): AsyncIterable<LakeObject> {
    let entries: Array<{ name: string; dir: boolean }>
    try {
      const dirents = await readdir(join(this.location, base), { withFileTypes: true })
      entries = dirents
        .filter((entry) => !entry.name.startsWith('.') && (entry.isFile() || entry.isDirectory()))
        .map((entry) => ({ name: entry.name, dir: entry.isDirectory() }))
    } catch (error) {
      if (isAbsent(error)) return
      throw wrapError(error, 'LAKE_UNAVAILABLE', `cannot list ${base || '/'} in ${this.location}`)
    }
    // Compare as keys: a folder `a` sorts as `a/`, so `a-b` (0x2D) comes before everything under `a/` (0x2F).
    const sortKey = (entry: { name: string; dir: boolean }) => (entry.dir ? `${entry.name}/` : entry.name)
    entries.sort((a, b) => (sortKey(a) < sortKey(b) ? -1 : sortKey(a) > sortKey(b) ? 1 : 0))
    for (const entry of entries) {
      const key = base + entry.name
      if (entry.dir) {
        const folder = `${key}/`
        if (folder.startsWith(prefix) || prefix.startsWith(folder)) yield* this.walk(folder, prefix)
      } else if (key.startsWith(prefix)) {
        try {
          const info = await stat(join(this.location, key))
          yield { key, size: info.size, modifiedAt: Math.floor(info.mtimeMs) }
        } catch (error) {
          if (!isAbsent(error))
            throw wrapError(error, 'LAKE_UNAVAILABLE', `cannot list ${key} in ${this.location}`)
        }
      }
    }
  }

  async delete(key: string): Promise<boolean> {
    const path = this.localPath(key)
    await this.closeSegment(key)
    try {
      await unlink(path)
      return true
    } catch (error) {
      if (isAbsent(error)) return false
      throw wrapError(error, 'LAKE_UNAVAILABLE', `cannot delete ${key} from ${this.location}`)
    }
  }

  async append(key: string, body: Uint8Array | string): Promise<void> {
    const bytes = typeof body === 'string' ? Buffer.from(body) : body
    const segment = await this.openSegment(key)
    segment.pending++
    try {
      await segment.write(bytes)
      await segment.sync()
    } catch (error) {
      throw wrapError(error, 'LAKE_UNAVAILABLE', `cannot append to ${key} in ${this.location}`)
    } finally {
      segment.pending--
    }
  }

  private openSegment(key: string): Promise<OpenSegment> {
    const cached = this.segments.get(key)
    if (cached) {
      // Refresh its place in the least-recently-used order.
      this.segments.delete(key)
      this.segments.set(key, cached)
      return cached
    }
    const path = this.localPath(key)
    const opening = (async () => {
      const dir = dirname(path)
      try {
        await mkdir(dir, { recursive: true })
        const created = !(await pathExists(path))
        const handle = await open(path, 'a', WRITABLE)
        const info = await handle.stat()
        if ((info.mode & 0o222) === 0) {
          await handle.close()
          throw new AirlakeError(
            'OBJECT_EXISTS',
            `lake segment ${key} is sealed (immutable); append to a new segment`,
          )
        }
        if (created) await syncDirectory(dir)
        return new OpenSegment(handle)
      } catch (error) {
        throw wrapError(error, 'LAKE_UNAVAILABLE', `cannot open segment ${key} in ${this.location}`)
      }
    })()
    this.segments.set(key, opening)
    opening.catch(() => this.segments.delete(key))
    void this.evictSegments()
    return opening
  }

  /** Closes the least recently used handles beyond the cache size, once idle. */
  private async evictSegments(): Promise<void> {
    for (const key of this.segments.keys()) {
      if (this.segments.size <= this.maxOpenSegments) return
      const segment = await this.segments.get(key)?.catch(() => undefined)
      if (segment && segment.pending === 0) await this.closeSegment(key)
    }
  }

  private async closeSegment(key: string): Promise<void> {
    const opening = this.segments.get(key)
    if (!opening) return
    this.segments.delete(key)
    const segment = await opening.catch(() => undefined)
    if (!segment) return
    await segment.sync().catch(() => {})
    await segment.handle.close().catch(() => {})
  }

  async seal(key: string): Promise<void> {
    const path = this.localPath(key)
    await this.closeSegment(key)
    try {
      await chmod(path, READ_ONLY)
    } catch (error) {
      if (isAbsent(error))
        throw new AirlakeError(
          'NOT_FOUND',
          `cannot seal ${key}: there is no such segment in ${this.location}`,
        )
      throw wrapError(error, 'LAKE_UNAVAILABLE', `cannot seal ${key} in ${this.location}`)
    }
  }

  /** Flushes and closes every open append handle (segments stay open for appends by a later process). */
  async close(): Promise<void> {
    await Promise.all([...this.segments.keys()].map((key) => this.closeSegment(key)))
  }
}

/** Deletes temporary files in `dir` that crashed writers left behind (see STALE_TEMP_MS); best effort. */
async function removeStaleTemps(dir: string): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[])
  const now = Date.now()
  for (const name of names) {
    if (!TEMP_NAME.test(name)) continue
    const path = join(dir, name)
    const info = await stat(path).catch(() => undefined)
    if (info !== undefined && now - info.mtimeMs > STALE_TEMP_MS) await unlink(path).catch(() => {})
  }
}

function isAbsent(error: unknown): boolean {
  const code = errorCode(error)
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR'
}

async function pathExists(path: string): Promise<boolean> {
  try {
    await stat(path)
    return true
  } catch {
    return false
  }
}

/** Makes a directory entry (a new or renamed file) durable. */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}
