import type { Cluster, Redis } from 'ioredis'
import { sessionKey } from './session-state.ts'

// `@africhain/verifier/state-writer`: the writes of the hot session state (layout in session-state.ts).
// The token service is its only writer, so only the token service imports this subpath; resource servers
// get the read side (`readSessionState`) from the main entry.

type RedisClient = Redis | Cluster

/** Marks a session active until its absolute expiry, unless a state (in particular "revoked") exists. */
export async function markSessionActive(
  redis: RedisClient,
  sid: string,
  userId: string,
  expiresAt: Date,
): Promise<void> {
  const ttl = expiresAt.getTime() - Date.now()
  if (ttl > 0) await redis.set(sessionKey(sid), `a:${userId}`, 'PX', ttl, 'NX')
}

/**
 * How far instances' clocks may disagree (with the verifiers' 30 s leeway on top) while a tombstone still
 * outlives every access token of its session: `accessTokensValidUntil` was computed on the revoking
 * instance's clock, the tokens' `exp` on their issuers'.
 */
export const CLOCK_MARGIN_MS = 5 * 60_000

/**
 * Marks a session revoked until its last access token expires, plus CLOCK_MARGIN_MS. Await it before the
 * revocation is acknowledged: the verifier's reads are sent directly, and may pass a write still waiting in
 * the auto-pipeline (bus/redis-client.ts).
 */
export async function markSessionRevoked(
  redis: RedisClient,
  sid: string,
  accessTokensValidUntil: Date,
): Promise<void> {
  const ttl = Math.max(accessTokensValidUntil.getTime() - Date.now(), 0) + CLOCK_MARGIN_MS
  await redis.set(sessionKey(sid), 'r', 'PX', ttl)
}
