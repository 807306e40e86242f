import assert from 'node:assert/strict'
import { mkdtemp, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { FsLake } from '../src/adapters/fs-lake/fs-lake.js'
import { isAirlakeError } from '../src/core/errors.js'
import { lakeContract } from './lake.contract.js'

const roots: string[] = []
after(async () => {
  await Promise.all(roots.map((root) => rm(root, { recursive: true, force: true })))
})

async function freshRoot(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'airlake-fslake-'))
  roots.push(root)
  return root
}

lakeContract('FsLake', async () => {
  const root = await freshRoot()
  const lake = await FsLake.open(`file:${root}`, { maxOpenSegments: 2 })
  const others: FsLake[] = []
  return {
    lake,
    reopen: async () => {
      const other = await FsLake.open(root)
      others.push(other)
      return other
    },
    close: async () => {
      await lake.close()
      for (const other of others) await other.close()
    },
  }
})

describe('FsLake on disk', () => {
  it('keeps objects as plain read-only files under the root, readable in place', async () => {
    const root = await freshRoot()
    const lake = await FsLake.open(root)
    await lake.put('silver/http/date=2024-01-31/part-0.parquet', 'PAR1')
    const path = lake.localPath('silver/http/date=2024-01-31/part-0.parquet')
    assert.equal(path, join(root, 'silver/http/date=2024-01-31/part-0.parquet'))
    assert.equal((await stat(path)).mode & 0o777, 0o444)
    assert.equal(lake.kind, 'file')
    assert.equal(lake.location, root)
  })

  it('never shows a half-written object: temporary files left by a crash are invisible', async () => {
    const root = await freshRoot()
    const lake = await FsLake.open(root)
    await lake.put('silver/http/date=2024-01-31/part-0.parquet', 'whole')
    // What a process killed between writing and publishing leaves behind.
    await writeFile(join(root, 'silver/http/date=2024-01-31/.0123456789ab.tmp'), 'half')
    const listed: string[] = []
    for await (const object of lake.list('silver/')) listed.push(object.key)
    assert.deepEqual(listed, ['silver/http/date=2024-01-31/part-0.parquet'])
    await lake.put('silver/http/date=2024-01-31/part-0.parquet', 'new', { overwrite: true })
    assert.equal(
      Buffer.from((await lake.get('silver/http/date=2024-01-31/part-0.parquet')) ?? []).toString(),
      'new',
    )
    const names = await readdir(join(root, 'silver/http/date=2024-01-31'))
    assert.deepEqual(
      names.filter((n) => !n.startsWith('.')),
      ['part-0.parquet'],
      'no temporary file of ours is left',
    )
  })

  it('removes temporary files a crash left behind once they are an hour old, on the next publish there', async () => {
    const root = await freshRoot()
    const lake = await FsLake.open(root)
    await lake.put('quality/2024-01-30.json', '{}')
    const folder = join(root, 'quality')
    await writeFile(join(folder, '.aaaaaaaaaaaa.tmp'), 'left by a crash')
    await writeFile(join(folder, '.bbbbbbbbbbbb.tmp'), 'being written now')
    const twoHoursAgo = new Date(Date.now() - 2 * 3_600_000)
    await utimes(join(folder, '.aaaaaaaaaaaa.tmp'), twoHoursAgo, twoHoursAgo)
    await lake.put('quality/2024-01-31.json', '{}')
    assert.deepEqual((await readdir(folder)).sort(), [
      '.bbbbbbbbbbbb.tmp',
      '2024-01-30.json',
      '2024-01-31.json',
    ])
  })

  it('keeps appending after its handle cache evicts a segment', async () => {
    const root = await freshRoot()
    const lake = await FsLake.open(root, { maxOpenSegments: 1 })
    for (let round = 0; round < 3; round++) {
      for (const name of ['a', 'b', 'c'])
        await lake.append(`bronze/http/2024-01-31/${name}.ndjson`, `${round}\n`)
    }
    for (const name of ['a', 'b', 'c']) {
      const text = Buffer.from((await lake.get(`bronze/http/2024-01-31/${name}.ndjson`)) ?? []).toString()
      assert.equal(text, '0\n1\n2\n')
    }
    await lake.close()
  })

  it('says where the lake is when it cannot be created', async () => {
    const root = await freshRoot()
    await writeFile(join(root, 'file'), 'x')
    await assert.rejects(FsLake.open(join(root, 'file', 'lake')), (error) => {
      return isAirlakeError(error, 'LAKE_UNAVAILABLE') && error.message.includes(join(root, 'file', 'lake'))
    })
  })
})
