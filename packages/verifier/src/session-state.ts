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
 * The token service is the only writer (`@africhain/verifier/state-writer`). "a" is only ever written with
 * NX, so a revocation is never undone by a concurrent re-warm; "r" is written unconditionally.
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
