import type { Cluster, Redis } from 'ioredis'

type RedisClient = Redis | Cluster

/**
 * The hot session state every resource server checks on each request, one Redis string per session:
 *   `s:{<sid>}` = "a:<userId>"  active, owned by that user; expires with the session's absolute expiry
 *               = "r"           revoked; expires when the session's last access token does
 *   missing                     unknown: Redis lost its data (or was never told). Resource servers fail
 *                               closed; the token service answers from MySQL and re-warms the key.
 * The owner is stored with the session so a token can only ride a live session of its own `sub`: a token
 * naming another user's `sid` is refused even while that session lives ("foreign").
 * The token service is the only writer. "a" is only ever written with NX, so a revocation is never undone
 * by a concurrent re-warm; "r" is written unconditionally.
 */
export type SessionState = 'active' | 'revoked' | 'unknown' | 'foreign'

export const sessionKey = (sid: string): string => `s:{${sid}}`

export function parseSessionState(value: string | null, sub: string): SessionState {
  if (value === 'r') return 'revoked'
  if (value === null || !value.startsWith('a:')) return 'unknown'
  return value.slice(2) === sub ? 'active' : 'foreign'
}

export async function readSessionState(redis: RedisClient, sid: string, sub: string): Promise<SessionState> {
  return parseSessionState(await redis.get(sessionKey(sid)), sub)
}

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

/** Marks a session revoked until its last access token expires, plus CLOCK_MARGIN_MS. */
export async function markSessionRevoked(
  redis: RedisClient,
  sid: string,
  accessTokensValidUntil: Date,
): Promise<void> {
  const ttl = Math.max(accessTokensValidUntil.getTime() - Date.now(), 0) + CLOCK_MARGIN_MS
  await redis.set(sessionKey(sid), 'r', 'PX', ttl)
}
