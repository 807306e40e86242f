import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import * as XLSX from '@e965/xlsx'
import { isAirlakeError } from '../../core/errors.js'
import type { FileRow, ReadProgress } from './file-row.js'
import { readRecords } from './read-records.js'

let dir: string
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlake-files-'))
})
after(async () => {
  await rm(dir, { recursive: true, force: true })
})

async function collect(path: string, options: Parameters<typeof readRecords>[1] = {}): Promise<FileRow[]> {
  const rows: FileRow[] = []
  for await (const row of readRecords(path, options)) rows.push(row)
  return rows
}

describe('readRecords: CSV', () => {
  it('yields the header, then each record with its exact text and line, across quoted line breaks and a BOM', async () => {
    const path = join(dir, 'quoted.csv')
    await writeFile(
      path,
      '\uFEFFtime,device,note\r\n2024-01-01T00:00:00Z,a,"two\nlines"\r\n\r\n2024-01-01T01:00:00Z,b,"say ""hi"""\r\n',
    )
    const rows = await collect(path)
    assert.deepEqual(
      rows.map((r) => r.kind),
      ['header', 'cells', 'cells'],
    )
    assert.deepEqual(rows[0], {
      kind: 'header',
      line: 1,
      raw: 'time,device,note',
      cells: ['time', 'device', 'note'],
    })
    assert.deepEqual(rows[1], {
      kind: 'cells',
      line: 3,
      raw: '2024-01-01T00:00:00Z,a,"two\nlines"',
      cells: ['2024-01-01T00:00:00Z', 'a', 'two\nlines'],
    })
    assert.equal(rows[2]?.raw, '2024-01-01T01:00:00Z,b,"say ""hi"""')
    assert.deepEqual(rows[2]?.kind === 'cells' && rows[2].cells, ['2024-01-01T01:00:00Z', 'b', 'say "hi"'])
  })

  it('guesses a semicolon delimiter from the header', async () => {
    const path = join(dir, 'semicolon.csv')
    await writeFile(path, 'time;device;co2\n2024-01-01;a;400,5\n')
    const rows = await collect(path)
    assert.deepEqual(rows[1]?.kind === 'cells' && rows[1].cells, ['2024-01-01', 'a', '400,5'])
  })

  it('turns a record it cannot parse into an invalid row and carries on', async () => {
    const path = join(dir, 'broken.csv')
    await writeFile(path, 'time,device,co2\n2024-01-01,a,4"0"1\n2024-01-02,b,"401\n2024-01-03,c,402\n')
    const rows = await collect(path)
    assert.deepEqual(
      rows.map((r) => r.kind),
      ['header', 'cells', 'invalid'],
    )
    assert.deepEqual(rows[1]?.kind === 'cells' && rows[1].cells, ['2024-01-01', 'a', '4"0"1'])
    const invalid = rows[2]
    assert.ok(invalid?.kind === 'invalid')
    assert.match(invalid.reason, /cannot be read \(Quote Not Closed/)
    assert.equal(invalid.raw, '2024-01-02,b,"401\n2024-01-03,c,402')
  })

  it('reports byte progress up to the file size', async () => {
    const path = join(dir, 'big.csv')
    const lines = ['time,device,co2']
    for (let i = 0; i < 12_000; i++) lines.push(`${1_700_000_000 + i * 60},dev,${400 + (i % 50)}`)
    await writeFile(path, lines.join('\n'))
    const seen: ReadProgress[] = []
    const rows = await collect(path, { onProgress: (p) => seen.push(p) })
    assert.equal(rows.length, 12_001)
    assert.ok(seen.length >= 3)
    assert.deepEqual(seen.at(-1), { bytesRead: seen[0]?.bytesTotal, bytesTotal: seen[0]?.bytesTotal })
    assert.ok(seen.every((p, i) => i === 0 || p.bytesRead >= (seen[i - 1]?.bytesRead ?? 0)))
  })

  it('refuses a missing, empty or unrecognised file with FILE_INVALID', async () => {
    await assert.rejects(
      collect(join(dir, 'nope.csv')),
      (e) => isAirlakeError(e, 'FILE_INVALID') && /no file/.test(e.message),
    )
    const empty = join(dir, 'empty.csv')
    await writeFile(empty, '')
    await assert.rejects(collect(empty), (e) => isAirlakeError(e, 'FILE_INVALID') && /empty/.test(e.message))
    const odd = join(dir, 'data.bin')
    await writeFile(odd, 'hello')
    await assert.rejects(
      collect(odd),
      (e) => isAirlakeError(e, 'FILE_INVALID') && /\.csv, \.ndjson/.test(e.message),
    )
    const fake = join(dir, 'fake.xlsx')
    await writeFile(fake, 'time,device\n')
    await assert.rejects(collect(fake), (e) => isAirlakeError(e, 'FILE_INVALID') && /not one/.test(e.message))
  })
})

describe('readRecords: NDJSON', () => {
  it('yields parsed lines and marks broken ones invalid, skipping blank lines', async () => {
    const path = join(dir, 'items.ndjson')
    await writeFile(path, '{"a":1}\n\n{broken\n{"b":2}\n')
    const rows = await collect(path)
    assert.deepEqual(rows[0], { kind: 'json', line: 1, raw: '{"a":1}', value: { a: 1 } })
    assert.equal(rows[1]?.kind, 'invalid')
    assert.equal(rows[1]?.line, 3)
    assert.equal(rows[1]?.raw, '{broken')
    assert.deepEqual(rows[2], { kind: 'json', line: 4, raw: '{"b":2}', value: { b: 2 } })
  })
})

describe('readRecords: workbooks', () => {
  async function writeWorkbook(path: string, bookType: 'xlsx' | 'biff8'): Promise<void> {
    const sheet = XLSX.utils.aoa_to_sheet(
      [
        ['time', 'device', 'co2', 'label'],
        [new Date(Date.UTC(2024, 0, 31, 23, 30)), 'dev-1', 412.5, 'ok'],
        [],
        [new Date(Date.UTC(2024, 1, 1, 0, 30)), 'dev-1', null, 'late'],
      ],
      { cellDates: true, UTC: true },
    )
    const book = XLSX.utils.book_new()
    XLSX.utils.book_append_sheet(book, XLSX.utils.aoa_to_sheet([['notes']]), 'About')
    XLSX.utils.book_append_sheet(book, sheet, 'Readings')
    await writeFile(path, XLSX.write(book, { type: 'buffer', bookType }) as Buffer)
  }

  for (const [ext, bookType] of [
    ['xlsx', 'xlsx'],
    ['xls', 'biff8'],
  ] as const) {
    it(`reads a real .${ext} sheet by name, dates as UTC instants, blank rows skipped`, async () => {
      const path = join(dir, `book.${ext}`)
      await writeWorkbook(path, bookType)
      const rows = await collect(path, { sheet: 'Readings' })
      assert.deepEqual(rows[0], {
        kind: 'header',
        line: 1,
        raw: '["time","device","co2","label"]',
        cells: ['time', 'device', 'co2', 'label'],
      })
      assert.equal(rows.length, 3)
      const first = rows[1]
      assert.ok(first?.kind === 'cells')
      assert.equal((first.cells[0] as Date).toISOString(), '2024-01-31T23:30:00.000Z')
      assert.deepEqual(first.cells.slice(1), ['dev-1', 412.5, 'ok'])
      assert.deepEqual(JSON.parse(first.raw), {
        time: '2024-01-31T23:30:00.000Z',
        device: 'dev-1',
        co2: 412.5,
        label: 'ok',
      })
      const second = rows[2]
      assert.ok(second?.kind === 'cells')
      assert.equal(second.line, 4)
      assert.equal(second.cells[2], null)
    })
  }

  it('names the sheets when the one asked for is absent, and refuses workbooks over the size limit', async () => {
    const path = join(dir, 'sheets.xlsx')
    await writeWorkbook(path, 'xlsx')
    await assert.rejects(
      collect(path, { sheet: 'Nope' }),
      (e) => isAirlakeError(e, 'FILE_INVALID') && /"About", "Readings"/.test(e.message),
    )
    await assert.rejects(
      collect(path, { maxWorkbookBytes: 100 }),
      (e) => isAirlakeError(e, 'FILE_INVALID') && /export the sheet as CSV/.test(e.message),
    )
  })
})
