import { accessValidUntil } from '../events.ts'
import type { HotSessionState, SessionStore } from '../ports.ts'

/**
 * Redis recovery on the request path. The hot state could not answer for a session (Redis lost it, or
 * refuses writes so its "active" may be stale): answer from MySQL and re-warm it when Redis takes the
 * write. `sub` is the token's user: a session of another user is 'foreign'.
 */
export async function resolveUnknownSession(
  d: { sessions: SessionStore; hot: HotSessionState; policy: { accessTtl: number }; now: () => Date },
  sessionId: string,
  sub: string,
): Promise<'active' | 'revoked' | 'foreign'> {
  const session = await d.sessions.find(sessionId)
  const now = d.now()
  if (!session || session.expiresAt <= now) return 'revoked'
  if (session.userId !== sub) return 'foreign'
  try {
    if (session.revokedAt) {
      const until = accessValidUntil(session, session.revokedAt, d.policy.accessTtl)
      await d.hot.markRevoked([{ id: session.id, until }])
      return 'revoked'
    }
    await d.hot.markActive(session.id, session.userId, session.expiresAt)
  } catch {
    // Redis refuses the write: MySQL's answer stands (the probe now makes every request ask MySQL).
    return session.revokedAt ? 'revoked' : 'active'
  }
  // Re-read: a revocation may have committed between our read and the write; NX kept its tombstone then.
  return (await d.hot.read(session.id, sub)) === 'revoked' ? 'revoked' : 'active'
}
