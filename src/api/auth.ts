/**
 * The `x-api-key` check in front of every protected route. Verified keys are remembered for a few
 * seconds (by the key's hash, never the key) so a busy device does not cost a store query per request;
 * a revoked key is refused once that memory expires.
 */
import { AirlakeError } from '../core/errors.js'
import type { Clock } from '../core/ports/clock.js'
import type { Logger } from '../core/ports/logger.js'
import type { KeyStore } from '../core/ports/store.js'
import { hashApiKey, type KeyIdentity, verifyApiKey } from '../pipeline/keys.js'

/** How often `lastUsedAt` of one key is written at most (ms). */
const TOUCH_EVERY_MS = 60_000

export class ApiKeyChecker {
  private readonly verified = new Map<string, { identity: KeyIdentity; until: number }>()
  private readonly touchedAt = new Map<string, number>()

  constructor(
    private readonly deps: { store: KeyStore; clock: Clock; logger: Logger },
    private readonly envKey: string | undefined,
    /** How long a verified key is trusted without asking the store again (ms). */
    private readonly cacheMs = 5_000,
  ) {}

  /**
   * The identity of `presented`; throws UNAUTHORIZED (401) when it is missing or not a valid key, and
   * STORE_UNAVAILABLE when the keys cannot be read.
   */
  async check(presented: string | string[] | undefined): Promise<KeyIdentity> {
    const key = Array.isArray(presented) ? presented[0] : presented
    if (key === undefined || key === '') {
      throw new AirlakeError(
        'UNAUTHORIZED',
        'this route needs an API key in the header x-api-key: create one with `airlake keys create --name NAME`',
      )
    }
    const now = this.deps.clock.now()
    const hash = hashApiKey(key)
    const cached = this.verified.get(hash)
    if (cached && cached.until > now) return cached.identity
    const identity = await verifyApiKey(this.deps.store, key, this.envKey)
    if (!identity) {
      this.verified.delete(hash)
      throw new AirlakeError(
        'UNAUTHORIZED',
        'the x-api-key is not a valid key (unknown or revoked): see `airlake keys list`, or create one with `airlake keys create --name NAME`',
      )
    }
    if (this.verified.size > 10_000) this.verified.clear()
    this.verified.set(hash, { identity, until: now + this.cacheMs })
    this.touch(identity, now)
    return identity
  }

  /** Forgets every remembered key (after a revocation in this process). */
  forget(): void {
    this.verified.clear()
  }

  private touch(identity: KeyIdentity, now: number): void {
    if (identity.id === 'env') return
    const last = this.touchedAt.get(identity.id)
    if (last !== undefined && now - last < TOUCH_EVERY_MS) return
    this.touchedAt.set(identity.id, now)
    this.deps.store.touchKey(identity.id, now).catch((error: unknown) => {
      this.deps.logger.warn('could not record the last use of an API key', {
        keyId: identity.id,
        error: String(error),
      })
    })
  }
}
