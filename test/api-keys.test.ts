/**
 * API keys as a user handles them: `airlake keys create|list|revoke` on a home, the server on the same home
 * accepting the key and refusing it once revoked, `AIRLAKE_API_KEY` accepted too, and a command run while
 * the server holds the embedded store told clearly what to do.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { hashApiKey } from '../src/pipeline/keys.js'
import { openApiFixture } from './api-fixture.js'
import { type CliResult, runAirlake } from './support/cli.js'

let home = ''

before(async () => {
  home = await mkdtemp(join(tmpdir(), 'airlake-keys-'))
})
after(() => rm(home, { recursive: true, force: true }))

/** Runs `airlake ARGS` on `home`, as a separate process. */
function airlake(...args: string[]): Promise<CliResult> {
  return runAirlake(home, args)
}

async function sensorsWith(key: string | undefined, config = {}): Promise<number> {
  const f = await openApiFixture({ home, config })
  try {
    const headers = key === undefined ? {} : { 'x-api-key': key }
    return (await f.app.inject({ method: 'GET', url: '/sensorsdata/sensors', headers })).statusCode
  } finally {
    await f.close()
  }
}

describe('airlake keys and the API', () => {
  let id = ''
  let key = ''

  test('keys create prints the key once; keys list shows it without the secret; only the hash is stored', async () => {
    const created = await airlake('keys', 'create', '--name', 'sensor gateway', '--json')
    assert.equal(created.code, 0, created.stderr)
    const printed = JSON.parse(created.stdout) as { id: string; name: string; key: string }
    ;({ id, key } = printed)
    assert.equal(printed.name, 'sensor gateway')
    assert.match(key, /^al_[0-9a-f]{16}_/)

    const listed = await airlake('keys', 'list', '--json')
    assert.equal(listed.code, 0, listed.stderr)
    const rows = JSON.parse(listed.stdout) as Array<Record<string, unknown>>
    assert.deepEqual(
      rows.map((r) => [r.id, r.name, r.status]),
      [[id, 'sensor gateway', 'active']],
    )
    assert.ok(!listed.stdout.includes(key.slice(20)), 'the secret is never listed')
    assert.ok(!listed.stdout.includes(hashApiKey(key)), 'nor its hash')

    const table = await airlake('keys', 'list')
    assert.match(table.stdout, new RegExp(`^${id}\\s+sensor gateway\\s+active`, 'm'))

    const f = await openApiFixture({ home })
    try {
      const record = await f.store.getKey(id)
      assert.equal(record?.hash, hashApiKey(key))
      const stored = await f.store.query('SELECT * FROM api_keys')
      assert.ok(!JSON.stringify(stored).includes(key), 'the key itself is not in the store')
    } finally {
      await f.close()
    }
  })

  test('the server accepts the key; a command run meanwhile is told the store is busy and what to do', async () => {
    const f = await openApiFixture({ home })
    try {
      const ok = await f.app.inject({
        method: 'GET',
        url: '/sensorsdata/sensors',
        headers: { 'x-api-key': key },
      })
      assert.equal(ok.statusCode, 200)
      const busy = await airlake('keys', 'list')
      assert.equal(busy.code, 1)
      assert.match(
        busy.stderr,
        /the embedded store at .*airlake\.duckdb is in use by a running airlake server/,
      )
      assert.match(busy.stderr, /use the HTTP API/)
      assert.match(busy.stderr, /DATABASE_URL=postgres:\/\//)
      const still = await f.app.inject({
        method: 'GET',
        url: '/sensorsdata/sensors',
        headers: { 'x-api-key': key },
      })
      assert.equal(still.statusCode, 200, 'the server is not disturbed')
    } finally {
      await f.close()
    }
  })

  test('keys revoke: the key gets 401 from then on; revoking again or an unknown id says so', async () => {
    const revoked = await airlake('keys', 'revoke', id)
    assert.equal(revoked.code, 0, revoked.stderr)
    assert.match(revoked.stdout, new RegExp(`Revoked API key ${id}`))
    assert.equal(await sensorsWith(key), 401)

    const again = await airlake('keys', 'revoke', id)
    assert.equal(again.code, 0)
    assert.match(again.stdout, /already revoked/)
    const unknown = await airlake('keys', 'revoke', '0123456789abcdef')
    assert.equal(unknown.code, 1)
    assert.match(unknown.stderr, /no API key with id "0123456789abcdef"/)
    const usage = await airlake('keys', 'create')
    assert.equal(usage.code, 2)
    assert.match(usage.stderr, /--name/)
  })

  test('AIRLAKE_API_KEY is accepted beside the stored keys; a near miss is not', async () => {
    const envKey = 'demo-key-0123456789abcdef'
    assert.equal(await sensorsWith(envKey, { apiKey: envKey }), 200)
    assert.equal(await sensorsWith(`${envKey}x`, { apiKey: envKey }), 401)
    assert.equal(await sensorsWith(undefined, { apiKey: envKey }), 401)
  })
})
