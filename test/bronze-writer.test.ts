/**
 * The bronze writer on the real file lake: concurrent payloads share writes (one fsync for many
 * requests) without losing or interleaving a line, and a new day starts a new segment.
 */
import assert from 'node:assert/strict'
import { readdirSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { FsLake } from '../src/adapters/fs-lake/fs-lake.js'
import { ManualClock } from '../src/core/ports/clock.js'
import type { Lake } from '../src/core/ports/lake.js'
import { BronzeWriter, bronzeLine } from '../src/pipeline/bronze.js'

const root = await mkdtemp(join(tmpdir(), 'airlake-bronze-'))
after(() => rm(root, { recursive: true, force: true }))

/** The lake, counting the appends that reach it. */
function counting(lake: Lake): { lake: Lake; appends: () => number } {
  let appends = 0
  const wrapped = Object.create(lake) as Lake
  wrapped.append = (key, body) => {
    appends++
    return lake.append(key, body)
  }
  return { lake: wrapped, appends: () => appends }
}

test('payloads of one turn of the event loop share one write, every line kept whole and once', async () => {
  const lake = await FsLake.open(join(root, 'group'))
  const { lake: watched, appends } = counting(lake)
  const clock = new ManualClock(Date.UTC(2026, 10, 23, 10))
  const writer = new BronzeWriter(watched, clock)
  // Each payload a few microtasks after the one before, as requests' handlers reach the writer.
  const keys = await Promise.all(
    Array.from({ length: 200 }, async (_, i) => {
      for (let k = 0; k < i; k++) await Promise.resolve()
      return writer.append('http', [
        bronzeLine('http', clock.now(), JSON.stringify({ devid: `d${i}`, n: i }), []),
      ])
    }),
  )
  assert.equal(new Set(keys).size, 1, 'one open segment per source and day')
  assert.equal(appends(), 1, `200 payloads of one turn took ${appends()} writes`)
  await writer.close()
  const text = new TextDecoder().decode(await lake.get(keys[0]!))
  const raws = text
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(JSON.parse(line).raw).n as number)
  assert.deepEqual(
    [...raws].sort((a, b) => a - b),
    Array.from({ length: 200 }, (_, i) => i),
  )
})

test('a new day seals the old segment and opens another', async () => {
  const lake = await FsLake.open(join(root, 'days'))
  const clock = new ManualClock(Date.UTC(2026, 10, 23, 23, 59))
  const writer = new BronzeWriter(lake, clock)
  const first = await writer.append('mqtt', [bronzeLine('mqtt', clock.now(), '{"a":1}', [])])
  clock.set(Date.UTC(2026, 10, 24, 0, 1))
  const second = await writer.append('mqtt', [bronzeLine('mqtt', clock.now(), '{"a":2}', [])])
  await writer.close()
  assert.match(first!, /^bronze\/mqtt\/2026-11-23\//)
  assert.match(second!, /^bronze\/mqtt\/2026-11-24\//)
  await assert.rejects(lake.append(first!, 'late\n'), 'a sealed segment takes no more lines')
})

test('segments rolling over under concurrent payloads leave no handle open and every line once', async () => {
  const openFiles = () => readdirSync('/proc/self/fd').length
  const lake = await FsLake.open(join(root, 'rollover'))
  const clock = new ManualClock(Date.UTC(2026, 10, 23, 10))
  // Segments of about four lines: many roll over while other payloads wait for theirs.
  const writer = new BronzeWriter(lake, clock, { maxSegmentBytes: 400 })
  const before = openFiles()
  const keys = await Promise.all(
    Array.from({ length: 120 }, async (_, i) => {
      for (let k = 0; k < i % 7; k++) await Promise.resolve()
      return writer.append('http', [bronzeLine('http', clock.now(), JSON.stringify({ n: i }), [])])
    }),
  )
  await writer.close()
  assert.equal(openFiles(), before, 'every segment handle closed with its segment')
  const lines: number[] = []
  for (const key of new Set(keys)) {
    const text = new TextDecoder().decode(await lake.get(key!))
    for (const line of text.trimEnd().split('\n')) lines.push(JSON.parse(JSON.parse(line).raw).n as number)
  }
  assert.deepEqual(
    lines.sort((a, b) => a - b),
    Array.from({ length: 120 }, (_, i) => i),
  )
})
