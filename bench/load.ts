/**
 * The HTTP load generator of the API benchmarks: `loadTest` sends a planned load from a separate client
 * process (bench/load-client.mjs: raw keep-alive HTTP/1.1 on `node:net`, wrk style), so the client
 * shares neither the server's event loop, heap nor garbage collector, and costs it little CPU.
 *
 * @example
 * const port = await listen(app)
 * const { latenciesMs, rate, statuses } = await loadTest({
 *   port, method: 'GET', paths: ['/health'], headers: {}, concurrency: 4, durationMs: 3000, warmupMs: 500,
 * })
 */
import { fork } from 'node:child_process'
import type { FastifyInstance } from 'fastify'

export interface LoadPlan {
  port: number
  method: 'GET' | 'PUT' | 'POST'
  /** Request paths, used in turn. */
  paths: string[]
  /** Request bodies, used in turn (none for GET). */
  bodies?: string[] | undefined
  headers: Record<string, string>
  /** Requests in flight at once, each on its own keep-alive connection. */
  concurrency: number
  /** Run for this long after `warmupMs` (ms); or, when `requests` is set, until that many are answered. */
  durationMs?: number | undefined
  warmupMs?: number | undefined
  requests?: number | undefined
}

export interface LoadResult {
  /** Latency of every measured request (ms). */
  latenciesMs: number[]
  /** Measured requests per second. */
  rate: number
  /** Answers by HTTP status. */
  statuses: Record<string, number>
}

const CLIENT = new URL('./load-client.mjs', import.meta.url)

/**
 * Sends the planned load to 127.0.0.1 from a client process and measures every answer. Connections open
 * before the clock starts; requests started during `warmupMs` are sent but not measured. Rejects when a
 * connection fails or an answer cannot be parsed; the client process is killed however it ends.
 */
export function loadTest(plan: LoadPlan): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    // No execArgv: the client is plain JavaScript and needs none of this process's flags (tsx among them).
    const child = fork(CLIENT, [], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    let settled = false
    const settle = (outcome: { result: LoadResult } | { error: Error }): void => {
      if (settled) return
      settled = true
      child.kill()
      if ('result' in outcome) resolve(outcome.result)
      else reject(outcome.error)
    }
    child.once('message', (message: { result: LoadResult } | { error: string }) => {
      if ('result' in message) settle(message)
      else settle({ error: new Error(`the load generator failed: ${message.error}`) })
    })
    child.once('error', (error) =>
      settle({ error: new Error(`the load generator could not run: ${error.message}`, { cause: error }) }),
    )
    child.once('exit', (code, signal) =>
      settle({
        error: new Error(`the load generator exited (${signal ?? `code ${code}`}) before answering`),
      }),
    )
    // One JSON message, bodies included (400,000 PUT bodies are about 50 MB of JSON).
    child.send(plan, (error) => {
      if (error) settle({ error: new Error(`cannot send the plan to the load generator: ${error.message}`) })
    })
  })
}

/** Listens on a free loopback port; returns it. */
export async function listen(app: FastifyInstance): Promise<number> {
  await app.listen({ port: 0, host: '127.0.0.1' })
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('the server has no TCP address')
  return address.port
}
