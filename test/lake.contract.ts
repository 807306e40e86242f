/**
 * The lake contract: every Lake adapter passes these, run by test/lake-*.test.ts. `open` gets a fresh,
 * empty lake for each test; `reopen` (optional) opens a second handle on the same lake, as another
 * process would.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { text as streamText } from 'node:stream/consumers'
import { describe, it } from 'node:test'
import { isAirlakeError } from '../src/core/errors.js'
import type { Lake } from '../src/core/ports/lake.js'

export interface LakeFixture {
  lake: Lake
  /** A second handle on the same lake, as another process would open it. */
  reopen?: () => Promise<Lake>
  close(): Promise<void>
}

async function keys(lake: Lake, prefix: string): Promise<string[]> {
  const found: string[] = []
  for await (const object of lake.list(prefix)) found.push(object.key)
  return found
}

const decode = (bytes: Uint8Array | undefined) =>
  bytes === undefined ? undefined : Buffer.from(bytes).toString('utf8')

export function lakeContract(name: string, open: () => Promise<LakeFixture>): void {
  describe(`Lake contract: ${name}`, () => {
    const withLake = (run: (fixture: LakeFixture) => Promise<void>) => async () => {
      const fixture = await open()
      try {
        await run(fixture)
      } finally {
        await fixture.close()
      }
    }

    it(
      'puts and gets objects; absence is undefined',
      withLake(async ({ lake }) => {
        await lake.put('silver/http/date=2024-01-31/part-0.parquet', new Uint8Array([1, 2, 3]))
        await lake.put('gold/x.json', '{"a":1}')
        assert.deepEqual(
          [...((await lake.get('silver/http/date=2024-01-31/part-0.parquet')) ?? [])],
          [1, 2, 3],
        )
        assert.equal(decode(await lake.get('gold/x.json')), '{"a":1}')
        assert.equal(await lake.get('gold/missing.json'), undefined)
        assert.equal(await lake.getStream('gold/missing.json'), undefined)
        assert.equal(await lake.exists('gold/x.json'), true)
        assert.equal(await lake.exists('gold/missing.json'), false)
        assert.equal(await lake.exists('gold'), false, 'a folder is not an object')
        const stream = await lake.getStream('gold/x.json')
        assert.ok(stream)
        assert.equal(await streamText(stream as NodeJS.ReadableStream & AsyncIterable<Buffer>), '{"a":1}')
      }),
    )

    it(
      'refuses to replace an immutable object unless told to overwrite',
      withLake(async ({ lake }) => {
        await lake.put('silver/http/2024-01-31/raw.csv', 'a\n1\n')
        await assert.rejects(lake.put('silver/http/2024-01-31/raw.csv', 'b\n2\n'), (error) =>
          isAirlakeError(error, 'OBJECT_EXISTS'),
        )
        assert.equal(
          decode(await lake.get('silver/http/2024-01-31/raw.csv')),
          'a\n1\n',
          'the first object is intact',
        )
        await lake.put('silver/http/2024-01-31/raw.csv', 'b\n2\n', { overwrite: true })
        assert.equal(decode(await lake.get('silver/http/2024-01-31/raw.csv')), 'b\n2\n')
      }),
    )

    it(
      'lets exactly one of two racing writers create a key',
      withLake(async ({ lake }) => {
        const results = await Promise.allSettled(
          Array.from({ length: 8 }, (_, i) => lake.put('gold/race.txt', `writer ${i}`)),
        )
        const won = results.filter((r) => r.status === 'fulfilled')
        assert.equal(won.length, 1)
        for (const r of results) {
          if (r.status === 'rejected') assert.ok(isAirlakeError(r.reason, 'OBJECT_EXISTS'), String(r.reason))
        }
        assert.match(decode(await lake.get('gold/race.txt')) ?? '', /^writer \d$/)
      }),
    )

    it(
      'puts a local file, atomically replacing it on overwrite',
      withLake(async ({ lake }) => {
        const dir = await mkdtemp(join(tmpdir(), 'airlake-lake-contract-'))
        try {
          const file = join(dir, 'part.csv')
          await writeFile(file, 'time,value\n1,2\n')
          await lake.putFile('silver/http/export/20240101.20240131/raw.csv', file)
          assert.equal(
            decode(await lake.get('silver/http/export/20240101.20240131/raw.csv')),
            'time,value\n1,2\n',
          )
          await assert.rejects(lake.putFile('silver/http/export/20240101.20240131/raw.csv', file), (error) =>
            isAirlakeError(error, 'OBJECT_EXISTS'),
          )
          await writeFile(file, 'time,value\n3,4\n')
          await lake.putFile('silver/http/export/20240101.20240131/raw.csv', file, { overwrite: true })
          assert.equal(
            decode(await lake.get('silver/http/export/20240101.20240131/raw.csv')),
            'time,value\n3,4\n',
          )
          await assert.rejects(lake.putFile('gold/none.csv', join(dir, 'absent.csv')))
          assert.equal(await lake.exists('gold/none.csv'), false, 'a failed put leaves nothing behind')
          assert.deepEqual(await keys(lake, 'gold/'), [])
        } finally {
          await rm(dir, { recursive: true, force: true })
        }
      }),
    )

    it(
      'lists objects under a prefix in key order, with sizes',
      withLake(async ({ lake }) => {
        const written = [
          'bronze/http/2024-01-31/b.ndjson',
          'bronze/http/2024-01-31/a.ndjson',
          'bronze/http/2024-02-01/a.ndjson',
          'bronze/http-2/2024-01-31/a.ndjson',
          'bronze/http.x',
          'bronze/mqtt/2024-01-31/a.ndjson',
          'silver/http/date=2024-01-31/part-0.parquet',
        ]
        for (const key of written) await lake.put(key, key)
        const all = [...written].sort()
        assert.deepEqual(await keys(lake, ''), all)
        assert.deepEqual(
          await keys(lake, 'bronze/http'),
          all.filter((k) => k.startsWith('bronze/http')),
          'a prefix may end inside a name',
        )
        assert.deepEqual(await keys(lake, 'bronze/http/'), [
          'bronze/http/2024-01-31/a.ndjson',
          'bronze/http/2024-01-31/b.ndjson',
          'bronze/http/2024-02-01/a.ndjson',
        ])
        assert.deepEqual(await keys(lake, 'bronze/http/2024-02'), ['bronze/http/2024-02-01/a.ndjson'])
        assert.deepEqual(await keys(lake, 'nothing/'), [])
        for await (const object of lake.list('bronze/mqtt/')) {
          assert.equal(object.size, Buffer.byteLength(object.key))
          assert.ok(object.modifiedAt > 0)
        }
      }),
    )

    it(
      'deletes objects; deleting nothing says false',
      withLake(async ({ lake }) => {
        await lake.put('gold/a.json', '1')
        assert.equal(await lake.delete('gold/a.json'), true)
        assert.equal(await lake.delete('gold/a.json'), false)
        assert.equal(await lake.get('gold/a.json'), undefined)
        await lake.put('gold/a.json', '2')
        assert.equal(decode(await lake.get('gold/a.json')), '2', 'a deleted key can be written again')
      }),
    )

    it(
      'appends in order, concurrently, and refuses appends once sealed',
      withLake(async ({ lake, reopen }) => {
        const key = 'bronze/http/2024-01-31/seg-1.ndjson'
        await lake.append(key, '{"n":0}\n')
        await Promise.all(Array.from({ length: 50 }, (_, i) => lake.append(key, `{"n":${i + 1}}\n`)))
        const lines = (decode(await lake.get(key)) ?? '').trimEnd().split('\n')
        assert.equal(lines.length, 51)
        assert.deepEqual(
          lines.map((line) => (JSON.parse(line) as { n: number }).n).sort((a, b) => a - b),
          Array.from({ length: 51 }, (_, i) => i),
          'every line whole, none lost',
        )
        assert.equal(lines[0], '{"n":0}')
        await lake.seal(key)
        await lake.seal(key)
        await assert.rejects(lake.append(key, 'more\n'), (error) => isAirlakeError(error, 'OBJECT_EXISTS'))
        await assert.rejects(lake.put(key, 'replace'), (error) => isAirlakeError(error, 'OBJECT_EXISTS'))
        assert.equal(
          (decode(await lake.get(key)) ?? '').split('\n').length,
          52,
          'the sealed segment is unchanged',
        )
        if (reopen) {
          const other = await reopen()
          await assert.rejects(other.append(key, 'more\n'), (error) => isAirlakeError(error, 'OBJECT_EXISTS'))
        }
        await assert.rejects(lake.seal('bronze/http/2024-01-31/none.ndjson'), (error) =>
          isAirlakeError(error, 'NOT_FOUND'),
        )
      }),
    )

    it(
      'refuses to append to an object written with put',
      withLake(async ({ lake }) => {
        await lake.put('gold/fixed.json', '{}')
        await assert.rejects(lake.append('gold/fixed.json', 'x'), (error) =>
          isAirlakeError(error, 'OBJECT_EXISTS'),
        )
        assert.equal(decode(await lake.get('gold/fixed.json')), '{}')
      }),
    )

    it(
      'sees appends made through another handle',
      withLake(async ({ lake, reopen }) => {
        if (!reopen) return
        const other = await reopen()
        await lake.append('bronze/mqtt/2024-01-31/a.ndjson', 'one\n')
        await other.append('bronze/mqtt/2024-01-31/b.ndjson', 'two\n')
        assert.equal(decode(await lake.get('bronze/mqtt/2024-01-31/b.ndjson')), 'two\n')
        assert.equal(decode(await other.get('bronze/mqtt/2024-01-31/a.ndjson')), 'one\n')
      }),
    )

    it(
      'rejects unsafe keys before touching storage',
      withLake(async ({ lake }) => {
        for (const key of [
          '',
          '/etc/passwd',
          '../outside',
          'a/../../b',
          'a//b',
          'a/./b',
          '.hidden',
          'a/.tmp',
          'a\\b',
          'a/b/',
        ]) {
          await assert.rejects(lake.put(key, 'x'), (error) => isAirlakeError(error, 'PARAMETER_INVALID'), key)
          await assert.rejects(lake.get(key), (error) => isAirlakeError(error, 'PARAMETER_INVALID'), key)
          await assert.rejects(
            lake.append(key, 'x'),
            (error) => isAirlakeError(error, 'PARAMETER_INVALID'),
            key,
          )
        }
        await assert.rejects(
          async () => {
            for await (const _ of lake.list('../')) break
          },
          (error) => isAirlakeError(error, 'PARAMETER_INVALID'),
        )
        assert.deepEqual(await keys(lake, ''), [])
      }),
    )
  })
}
