/**
 * A small, dependency-free Parquet encoder for the gold training matrices: one row group, one PLAIN,
 * uncompressed data page per column, REQUIRED flat columns of DOUBLE, INT64 (optionally
 * TIMESTAMP_MILLIS) or UTF-8 strings, and key/value metadata. Any Parquet reader (DuckDB, pyarrow,
 * Spark) reads the result. The columnar port writes silver long rows; a training matrix is a wide table
 * of a few hundred double columns, which this encodes in memory without an engine.
 *
 * Format: https://github.com/apache/parquet-format (file layout, `parquet.thrift`, Thrift compact protocol).
 */
import { AirlakeError } from '../core/errors.js'

export type ParquetColumn =
  | { name: string; type: 'double'; values: ArrayLike<number> }
  | { name: string; type: 'int64' | 'timestamp-ms'; values: ArrayLike<number> }
  | { name: string; type: 'string'; values: readonly string[] }

// Thrift compact protocol type ids.
const T_I32 = 5
const T_I64 = 6
const T_BINARY = 8
const T_LIST = 9
const T_STRUCT = 12
// parquet.thrift enums.
const TYPE = { int64: 2, double: 5, byteArray: 6 } as const
const REQUIRED = 0
const CONVERTED_UTF8 = 0
const CONVERTED_TIMESTAMP_MILLIS = 9
const ENCODING_PLAIN = 0
const ENCODING_RLE = 3
const CODEC_UNCOMPRESSED = 0
const PAGE_DATA = 0

/** Growable byte buffer with the Thrift compact protocol's primitives. */
class Writer {
  private bytes = new Uint8Array(1024)
  length = 0
  private lastField: number[] = [0]

  private reserve(n: number): void {
    if (this.length + n <= this.bytes.length) return
    let size = this.bytes.length * 2
    while (size < this.length + n) size *= 2
    const next = new Uint8Array(size)
    next.set(this.bytes.subarray(0, this.length))
    this.bytes = next
  }
  byte(b: number): void {
    this.reserve(1)
    this.bytes[this.length++] = b
  }
  raw(data: Uint8Array): void {
    this.reserve(data.length)
    this.bytes.set(data, this.length)
    this.length += data.length
  }
  varint(value: bigint): void {
    let v = value
    while (v >= 0x80n) {
      this.byte(Number(v & 0x7fn) | 0x80)
      v >>= 7n
    }
    this.byte(Number(v))
  }
  zigzag(value: number): void {
    const v = BigInt(value)
    this.varint(v >= 0n ? v << 1n : (-v << 1n) - 1n)
  }
  field(id: number, type: number): void {
    const last = this.lastField[this.lastField.length - 1]!
    const delta = id - last
    if (delta > 0 && delta <= 15) this.byte((delta << 4) | type)
    else {
      this.byte(type)
      this.zigzag(id)
    }
    this.lastField[this.lastField.length - 1] = id
  }
  i32(id: number, value: number): void {
    this.field(id, T_I32)
    this.zigzag(value)
  }
  i64(id: number, value: number): void {
    this.field(id, T_I64)
    this.zigzag(value)
  }
  binary(id: number, value: string): void {
    this.field(id, T_BINARY)
    this.binaryValue(value)
  }
  binaryValue(value: string): void {
    const data = new TextEncoder().encode(value)
    this.varint(BigInt(data.length))
    this.raw(data)
  }
  listHeader(id: number, elementType: number, size: number): void {
    this.field(id, T_LIST)
    if (size < 15) this.byte((size << 4) | elementType)
    else {
      this.byte(0xf0 | elementType)
      this.varint(BigInt(size))
    }
  }
  /** Writes a struct value (as a list element or a field after `field(id, T_STRUCT)`). */
  struct(body: () => void): void {
    this.lastField.push(0)
    body()
    this.byte(0)
    this.lastField.pop()
  }
  structField(id: number, body: () => void): void {
    this.field(id, T_STRUCT)
    this.struct(body)
  }
  result(): Uint8Array {
    return this.bytes.slice(0, this.length)
  }
}

function plainValues(column: ParquetColumn): Uint8Array {
  if (column.type === 'string') {
    const encoded = column.values.map((v) => new TextEncoder().encode(v))
    const out = new Uint8Array(encoded.reduce((n, e) => n + 4 + e.length, 0))
    const view = new DataView(out.buffer)
    let offset = 0
    for (const e of encoded) {
      view.setUint32(offset, e.length, true)
      out.set(e, offset + 4)
      offset += 4 + e.length
    }
    return out
  }
  const out = new Uint8Array(column.values.length * 8)
  const view = new DataView(out.buffer)
  for (let i = 0; i < column.values.length; i++) {
    const v = column.values[i]!
    if (column.type === 'double') view.setFloat64(i * 8, v, true)
    else {
      if (!Number.isSafeInteger(v))
        throw new AirlakeError(
          'PARAMETER_INVALID',
          `column ${column.name} row ${i}: ${v} is not a whole number`,
        )
      view.setBigInt64(i * 8, BigInt(v), true)
    }
  }
  return out
}

/**
 * Encodes `columns` (all of one length) as a Parquet file. Throws PARAMETER_INVALID for columns of
 * different lengths, duplicate names, or a non-integer in an int64 column.
 */
export function encodeParquet(
  columns: readonly ParquetColumn[],
  metadata: Record<string, string> = {},
): Uint8Array {
  const rows = columns[0]?.values.length ?? 0
  const names = new Set<string>()
  for (const column of columns) {
    if (column.values.length !== rows) {
      throw new AirlakeError(
        'PARAMETER_INVALID',
        `column ${column.name} has ${column.values.length} rows, the first column ${rows}`,
      )
    }
    if (names.has(column.name))
      throw new AirlakeError('PARAMETER_INVALID', `column ${column.name} appears twice`)
    names.add(column.name)
  }
  const file = new Writer()
  file.raw(new TextEncoder().encode('PAR1'))
  const chunks: Array<{ column: ParquetColumn; offset: number; size: number }> = []
  for (const column of columns) {
    const data = plainValues(column)
    const header = new Writer()
    header.struct(() => {
      header.i32(1, PAGE_DATA)
      header.i32(2, data.length)
      header.i32(3, data.length)
      header.structField(5, () => {
        header.i32(1, rows)
        header.i32(2, ENCODING_PLAIN)
        header.i32(3, ENCODING_RLE)
        header.i32(4, ENCODING_RLE)
      })
    })
    const offset = file.length
    file.raw(header.result())
    file.raw(data)
    chunks.push({ column, offset, size: file.length - offset })
  }
  const physical = (c: ParquetColumn) =>
    c.type === 'double' ? TYPE.double : c.type === 'string' ? TYPE.byteArray : TYPE.int64
  const footer = new Writer()
  footer.struct(() => {
    footer.i32(1, 1)
    footer.listHeader(2, T_STRUCT, columns.length + 1)
    footer.struct(() => {
      footer.binary(4, 'schema')
      footer.i32(5, columns.length)
    })
    for (const column of columns) {
      footer.struct(() => {
        footer.i32(1, physical(column))
        footer.i32(3, REQUIRED)
        footer.binary(4, column.name)
        if (column.type === 'string') footer.i32(6, CONVERTED_UTF8)
        if (column.type === 'timestamp-ms') footer.i32(6, CONVERTED_TIMESTAMP_MILLIS)
      })
    }
    footer.i64(3, rows)
    footer.listHeader(4, T_STRUCT, 1)
    footer.struct(() => {
      footer.listHeader(1, T_STRUCT, chunks.length)
      for (const { column, offset, size } of chunks) {
        footer.struct(() => {
          footer.i64(2, offset)
          footer.structField(3, () => {
            footer.i32(1, physical(column))
            footer.listHeader(2, T_I32, 1)
            footer.zigzag(ENCODING_PLAIN)
            footer.listHeader(3, T_BINARY, 1)
            footer.binaryValue(column.name)
            footer.i32(4, CODEC_UNCOMPRESSED)
            footer.i64(5, rows)
            footer.i64(6, size)
            footer.i64(7, size)
            footer.i64(9, offset)
          })
        })
      }
      footer.i64(
        2,
        chunks.reduce((n, c) => n + c.size, 0),
      )
      footer.i64(3, rows)
    })
    const entries = Object.entries(metadata)
    if (entries.length > 0) {
      footer.listHeader(5, T_STRUCT, entries.length)
      for (const [key, value] of entries) {
        footer.struct(() => {
          footer.binary(1, key)
          footer.binary(2, value)
        })
      }
    }
    footer.binary(6, 'airlake')
  })
  const meta = footer.result()
  file.raw(meta)
  const length = new Uint8Array(4)
  new DataView(length.buffer).setUint32(0, meta.length, true)
  file.raw(length)
  file.raw(new TextEncoder().encode('PAR1'))
  return file.result()
}
