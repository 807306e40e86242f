/** A server whose port is taken says so and what to do, and leaves nothing running behind it. */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { openApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { isAirlakeError } from '../src/core/errors.js'
import { silentLogger } from '../src/core/ports/logger.js'
import { startRuntime } from '../src/runtime.js'

test('a taken port is a CONFIG_INVALID error naming the port and the way out', async () => {
  const homes = [
    await mkdtemp(join(tmpdir(), 'airlake-port-')),
    await mkdtemp(join(tmpdir(), 'airlake-port-')),
  ]
  const open = (home: string) => openApp(loadConfig({ AIRLAKE_HOME: home }), { logger: silentLogger })
  const first = await startRuntime(await open(homes[0]!), {
    port: 0,
    host: '127.0.0.1',
    webRoot: false,
    schedule: false,
  })
  const second = await open(homes[1]!)
  try {
    const port = Number(new URL(first.url).port)
    await assert.rejects(
      startRuntime(second, { port, host: '127.0.0.1', webRoot: false, schedule: false }),
      (error) =>
        isAirlakeError(error, 'CONFIG_INVALID') &&
        error.message.includes(`port ${port}`) &&
        /PORT=/.test(error.message),
    )
  } finally {
    await second.close()
    await first.stop()
    for (const home of homes) await rm(home, { recursive: true, force: true })
  }
})
