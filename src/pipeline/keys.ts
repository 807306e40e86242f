/**
 * API keys (DESIGN.md section 4): a key is `al_<id>_<secret>`, shown once when created; the store keeps
 * only the SHA-256 of the whole key. Presented keys are compared by hash with `crypto.timingSafeEqual`,
 * so the time a check takes does not reveal how much of a guess was right.
 */
import { hash, randomBytes, timingSafeEqual } from 'node:crypto'
import { AirlakeError } from '../core/errors.js'
import type { Clock } from '../core/ports/clock.js'
import type { KeyStore } from '../core/ports/store.js'
import type { ApiKeyRecord } from '../core/types.js'

const KEY_PATTERN = /^al_([0-9a-f]{16})_([A-Za-z0-9_-]{32,})$/
const NAME_PATTERN = /^[\p{L}\p{N} _.:@-]{1,64}$/u

/** Who a valid key belongs to. `id` is `env` for the key given in `AIRLAKE_API_KEY`. */
export interface KeyIdentity {
  id: string
  name: string
}

/** The identity of the key set in `AIRLAKE_API_KEY`. */
export const ENV_KEY_IDENTITY: KeyIdentity = { id: 'env', name: 'AIRLAKE_API_KEY' }

/** hex SHA-256 of a key, as stored (one-shot `hash`: every request hashes its key, and a `Hash` object costs more). */
export function hashApiKey(key: string): string {
  return hash('sha256', key, 'hex')
}

/**
 * Creates a key named `name` and stores its hash. The returned `key` is the only copy of the secret:
 * print it once and never log it. Throws PARAMETER_INVALID for an empty or odd name.
 */
export async function createApiKey(
  deps: { store: KeyStore; clock: Clock },
  input: { name: string },
): Promise<{ id: string; key: string; record: ApiKeyRecord }> {
  const name = input.name.trim()
  if (!NAME_PATTERN.test(name)) {
    throw new AirlakeError(
      'PARAMETER_INVALID',
      `the key name must be 1–64 letters, digits, spaces or "_.:@-", got ${JSON.stringify(input.name)}`,
    )
  }
  const id = randomBytes(8).toString('hex')
  const key = `al_${id}_${randomBytes(24).toString('base64url')}`
  const record: ApiKeyRecord = { id, name, hash: hashApiKey(key), createdAt: deps.clock.now() }
  await deps.store.createKey(record)
  return { id, key, record }
}

/**
 * The identity behind `presented`, or `undefined` when it is missing, malformed, unknown or revoked.
 * `envKey` (from `AIRLAKE_API_KEY`) is accepted too. Never throws for a bad key; a store failure
 * propagates (STORE_UNAVAILABLE), so an outage is not mistaken for a wrong key.
 */
export async function verifyApiKey(
  store: KeyStore,
  presented: string | undefined,
  envKey?: string,
): Promise<KeyIdentity | undefined> {
  if (presented === undefined || presented === '' || presented.length > 256) return undefined
  const presentedHash = Buffer.from(hashApiKey(presented), 'hex')
  if (
    envKey !== undefined &&
    envKey !== '' &&
    timingSafeEqual(presentedHash, Buffer.from(hashApiKey(envKey), 'hex'))
  ) {
    return ENV_KEY_IDENTITY
  }
  const match = KEY_PATTERN.exec(presented)
  if (!match) return undefined
  const record = await store.getKey(match[1]!)
  if (!record || record.revokedAt !== undefined) return undefined
  const storedHash = Buffer.from(record.hash, 'hex')
  if (storedHash.length !== presentedHash.length || !timingSafeEqual(storedHash, presentedHash))
    return undefined
  return { id: record.id, name: record.name }
}

/** Every key (hashes included, never secrets), oldest first. */
export async function listKeys(store: KeyStore): Promise<ApiKeyRecord[]> {
  const keys = await store.listKeys()
  return [...keys].sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1))
}

/**
 * Revokes key `id`: from then on it is refused. Idempotent: revoking a revoked key keeps its first
 * revocation time and answers `alreadyRevoked`. Throws NOT_FOUND for an unknown id.
 */
export async function revokeKey(
  deps: { store: KeyStore; clock: Clock },
  id: string,
): Promise<{ record: ApiKeyRecord; alreadyRevoked: boolean }> {
  const record = await deps.store.getKey(id)
  if (!record) {
    throw new AirlakeError(
      'NOT_FOUND',
      `there is no API key with id ${JSON.stringify(id)}: see \`airlake keys list\``,
    )
  }
  if (record.revokedAt !== undefined) return { record, alreadyRevoked: true }
  const at = deps.clock.now()
  await deps.store.revokeKey(id, at)
  return { record: { ...record, revokedAt: at }, alreadyRevoked: false }
}
