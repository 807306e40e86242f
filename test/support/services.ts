/**
 * Reaching the real services the integration tests use (PostgreSQL, NATS, Mosquitto on loopback).
 * In CI (`CI=true`) a missing service fails the test; elsewhere the test is skipped with a message.
 */
import { Socket } from 'node:net'

export const POSTGRES_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
export const NATS_URL = process.env.TEST_NATS_URL ?? 'nats://127.0.0.1:4222'
export const MQTT_URL = process.env.TEST_MQTT_URL ?? 'mqtt://127.0.0.1:1883'

/** Whether a TCP port answers on loopback within `timeoutMs`. */
export function reachable(port: number, host = '127.0.0.1', timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket()
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(timeoutMs, () => done(false))
    socket.once('error', () => done(false))
    socket.connect(port, host, () => done(true))
  })
}

/**
 * `false` when the service answers; otherwise a skip message (or, in CI, throws so the run fails).
 * Use as `{ skip: await skipUnless('PostgreSQL', 5432) }` in node:test options.
 */
export async function skipUnless(service: string, port: number): Promise<string | false> {
  if (await reachable(port)) return false
  const message = `${service} is not reachable on 127.0.0.1:${port}: start it (see .ci/run) to run these tests`
  if (process.env.CI === 'true') throw new Error(`${message} (required in CI)`)
  return message
}
