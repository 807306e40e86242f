/**
 * A silver build killed half-way (SIGKILL, while staging and while publishing partitions) never leaves half a partition visible: every
 * partition a reader can see is whole, and the next run completes the job. See test/lake-silver-child.ts.
 */
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { after, before, describe, it } from 'node:test'
import { DuckDBInstance } from '@duckdb/node-api'
import { FsLake } from '../src/adapters/fs-lake/fs-lake.js'
import { DAY_MS, isoDate, MINUTE_MS } from '../src/core/time.js'
import { silverPartitionKey } from '../src/pipeline/to-silver.js'

const FIRST_DAY = Date.UTC(2024, 0, 1)
const DAYS = 10
const DEVICES = 3
const ROWS_PER_DAY = 1440 * DEVICES
/** The value of device `d` at minute `m` of day `i`: the sum per day is known in advance. */
const valueAt = (i: number, d: number, m: number) => i * 1000 + d * 10 + (m % 5)
const expectedSum = (i: number) => {
  let sum = 0
  for (let d = 0; d < DEVICES; d++) for (let m = 0; m < 1440; m++) sum += valueAt(i, d, m)
  return sum
}

let dir: string
let lake: FsLake
let duck: DuckDBInstance
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlake-silver-crash-'))
  lake = await FsLake.open(join(dir, 'lake'))
  duck = await DuckDBInstance.create(':memory:')
  // One bronze segment per reading day, each holding all of that day's rows.
  for (let i = 0; i < DAYS; i++) {
    const day = FIRST_DAY + i * DAY_MS
    const lines: string[] = []
    for (let m = 0; m < 1440; m++) {
      const time = day + m * MINUTE_MS
      const rows = Array.from({ length: DEVICES }, (_, d) => [time, `dev-${d}`, 'co2', valueAt(i, d, m)])
      lines.push(JSON.stringify({ receivedAt: time + 1000, source: 'http', raw: '{}', rows }))
    }
    await lake.append(`bronze/http/${isoDate(day)}/segment.ndjson`, `${lines.join('\n')}\n`)
    await lake.seal(`bronze/http/${isoDate(day)}/segment.ndjson`)
  }
})
after(async () => {
  duck.closeSync()
  await lake.close()
  await rm(dir, { recursive: true, force: true })
})

function startChild(): { child: ChildProcess; lines: AsyncIterableIterator<string> } {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(import.meta.dirname, 'lake-silver-child.ts'), dir],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  )
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream })[Symbol.asyncIterator]()
  return { child, lines }
}

async function countPartitions(): Promise<number> {
  let count = 0
  for await (const object of lake.list('silver/http/date=')) if (object.key.endsWith('.parquet')) count++
  return count
}

/** Every visible silver partition, checked whole: its day's row count and value sum. Returns how many there are. */
async function checkVisiblePartitions(): Promise<number> {
  let seen = 0
  for await (const object of lake.list('silver/http/')) {
    if (object.key.endsWith('_promoted.json')) continue
    const i = Array.from({ length: DAYS }, (_, k) => k).find(
      (k) => silverPartitionKey('http', isoDate(FIRST_DAY + k * DAY_MS)) === object.key,
    )
    assert.notEqual(i, undefined, `unexpected silver object ${object.key}`)
    const connection = await duck.connect()
    try {
      const result = await connection.runAndReadAll(
        `SELECT count(*), sum(value) FROM read_parquet('${lake.localPath(object.key)}')`,
      )
      const [count, sum] = result.getRows()[0] ?? []
      assert.equal(Number(count), ROWS_PER_DAY, `${object.key} is whole`)
      assert.equal(Number(sum), expectedSum(i ?? 0), `${object.key} holds its day's values`)
    } finally {
      connection.closeSync()
    }
    seen++
  }
  return seen
}

describe('silver build killed half-way', () => {
  it('shows only whole partitions after each kill, and the next run completes', async (t) => {
    // Kill while staging bronze, then as soon as the first partition and half of them are published.
    for (const partitionsBeforeKill of [0, 1, DAYS / 2]) {
      const { child, lines } = startChild()
      const exited = once(child, 'exit')
      const first = await lines.next()
      assert.match(String(first.value), /^progress \d+$/)
      while ((await countPartitions()) < partitionsBeforeKill && child.exitCode === null) {
        await new Promise((resolve) => setTimeout(resolve, 2))
      }
      child.kill('SIGKILL')
      await exited
      const visible = await checkVisiblePartitions()
      t.diagnostic(
        `killed after ${partitionsBeforeKill} partitions were published: ${visible} whole partitions visible`,
      )
    }
    const { child, lines } = startChild()
    const exited = once(child, 'exit')
    let last = ''
    for await (const line of { [Symbol.asyncIterator]: () => lines }) last = line
    const [code] = await exited
    assert.equal(code, 0)
    assert.equal(last, 'done')
    assert.equal(await checkVisiblePartitions(), DAYS)
  })
})
