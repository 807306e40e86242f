/**
 * Every route the running server has (its own and every module the runtime adds: models, runs, selection,
 * invocations, quality, exports, upload, …) answers 401 without a valid `x-api-key`, except health, metrics
 * and the API docs. Routes are read from the server itself, so a route added later is checked too.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { type App, openApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { silentLogger } from '../src/core/ports/logger.js'
import { type Runtime, startRuntime } from '../src/runtime.js'

const OPEN = [/^\/docs/, /^\/openapi\.json$/, /^\/healthz$/, /^\/readyz$/, /^\/metrics$/]

let home = ''
let app: App
let runtime: Runtime
before(async () => {
  home = await mkdtemp(join(tmpdir(), 'airlake-routes-auth-'))
  app = await openApp(loadConfig({ AIRLAKE_HOME: home, AIRLAKE_API_KEY: 'routes-auth-key-0123456789' }), {
    logger: silentLogger,
  })
  runtime = await startRuntime(app, { port: 0, host: '127.0.0.1', webRoot: false, schedule: false })
})
after(async () => {
  await runtime?.stop()
  await app?.close()
  await rm(home, { recursive: true, force: true })
})

/** (method, path) of every route, from Fastify's route tree (`printRoutes`), HEAD left out. */
function routesOf(tree: string): Array<[string, string]> {
  const routes: Array<[string, string]> = []
  const stack: string[] = []
  for (const line of tree.split('\n')) {
    const match = /^((?:│ {3}| {4})*)(?:├── |└── )(\S+)(?: \(([^)]+)\))?$/.exec(line)
    if (!match) continue
    const depth = match[1]!.length / 4
    stack.length = depth
    stack.push(match[2]!)
    const path = stack.join('')
    for (const method of (match[3] ?? '').split(', ').filter((m) => m !== '' && m !== 'HEAD')) {
      routes.push([method, path.replace(/:[^/]+/g, 'x').replace(/\*/g, 'x')])
    }
  }
  return routes
}

test('every route but health, metrics and docs answers 401 without a key and with a wrong one', async () => {
  const routes = routesOf(runtime.server.printRoutes({ commonPrefix: false }))
  const guarded = routes.filter(([, path]) => !OPEN.some((open) => open.test(path)))
  assert.ok(guarded.length >= 10, `found the routes: ${JSON.stringify(routes)}`)
  for (const path of ['/sensorsdata', '/predictions', '/models', '/runs', '/selection', '/invocations']) {
    assert.ok(
      guarded.some(([, p]) => p === path),
      `${path} is among the guarded routes`,
    )
  }
  for (const [method, path] of guarded) {
    for (const key of [undefined, 'wrong-key-0123456789']) {
      const response = await fetch(`${runtime.url}${path}`, {
        method,
        headers: key === undefined ? {} : { 'x-api-key': key },
        body: method === 'GET' ? undefined : '{}',
      })
      assert.equal(response.status, 401, `${method} ${path} with ${key ?? 'no key'}`)
      assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'UNAUTHORIZED')
    }
  }
  for (const path of ['/healthz', '/readyz', '/metrics', '/openapi.json', '/docs/']) {
    const response = await fetch(`${runtime.url}${path}`)
    assert.equal(response.status, 200, `${path}: ${await response.text()}`)
  }
  const withKey = await fetch(`${runtime.url}/sensorsdata/sensors`, {
    headers: { 'x-api-key': 'routes-auth-key-0123456789' },
  })
  assert.equal(withKey.status, 200, 'AIRLAKE_API_KEY opens the same routes')
})
