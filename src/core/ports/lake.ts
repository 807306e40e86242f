/**
 * The lake port: durable object storage under keys like `bronze/http/2024-01-31/<segment>.ndjson`
 * (DESIGN.md section 3). Implementations: FsLake (`src/adapters/fs-lake`), later S3Lake.
 * Keys use `/`, never start with `/`, never contain `..`.
 */
export interface LakeObject {
  key: string
  size: number
  modifiedAt: number
}

export interface Lake {
  /** `file` or `s3`. */
  readonly kind: string
  /** Human-readable location for messages (`/home/me/.airlake/lake`, `s3://bucket/prefix`). */
  readonly location: string
  /**
   * Writes `body` at `key` atomically (readers see all or nothing). Objects are immutable: an existing key
   * is an `OBJECT_EXISTS` error unless `overwrite` is set (exports, which are regenerated).
   */
  put(key: string, body: Uint8Array | string, options?: { overwrite?: boolean }): Promise<void>
  /** Like `put`, streaming a local file (Parquet and CSV written by an engine). */
  putFile(key: string, localPath: string, options?: { overwrite?: boolean }): Promise<void>
  /** The object, or `undefined` when there is none. */
  get(key: string): Promise<Uint8Array | undefined>
  /** A readable stream of the object, or `undefined`. */
  getStream(key: string): Promise<NodeJS.ReadableStream | undefined>
  exists(key: string): Promise<boolean>
  /** Objects whose key starts with `prefix`, in key order. */
  list(prefix: string): AsyncIterable<LakeObject>
  /** Deletes an object; false when there was none. */
  delete(key: string): Promise<boolean>
  /**
   * Appends `body` to the open segment `key`, creating it; durable when the promise resolves.
   * A sealed segment cannot be appended to (`OBJECT_EXISTS`).
   */
  append(key: string, body: Uint8Array | string): Promise<void>
  /** Makes segment `key` immutable. Idempotent. */
  seal(key: string): Promise<void>
  /** A local path for `key` when the lake lives on this machine's disk (engines read it in place). */
  localPath(key: string): string | undefined
}
