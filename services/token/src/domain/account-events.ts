import { newEvent, type RevokeReason, type SessionEvent } from '@africhain/events'
import type { HotSessionState, SessionRecord } from './ports.ts'
import type { RequestContext } from './sessions.ts'

/**
 * What the account use cases (password change, administration) share with the session rules: the
 * `session.revoked` event of a revocation they commit, and the tombstones written after the commit.
 * Same shapes as SessionService's own, so consumers cannot tell who revoked.
 */

/** The login lock's account key of an existing user (SessionService.login counts under the same key). */
export const lockAccount = (userId: string) => `user:${userId}`

/**
 * The current-password check of a password change counts under its own key: as strictly as logins (a
 * stolen access token must not become a password oracle), but a stranger's failed logins, which lock
 * `lockAccount`, must not also stop the owner, signed in, from changing the password.
 */
export const passwordCheckAccount = (userId: string) => `password-change:user:${userId}`

/** Upper bound of the `exp` of any access token of this session issued up to `at`. */
export function accessValidUntil(session: SessionRecord, at: Date, accessTtl: number): Date {
  return new Date(Math.min(session.expiresAt.getTime(), at.getTime() + accessTtl * 1000))
}

/** The request's IP and User-Agent as event fields (each only when known): one rule for every event. */
export const requestFields = (ctx: RequestContext) => ({
  ...(ctx.ip ? { ip: ctx.ip } : {}),
  ...(ctx.userAgent ? { userAgent: ctx.userAgent } : {}),
})

export function revokedEvent(
  session: SessionRecord,
  ctx: RequestContext,
  reason: RevokeReason,
  now: Date,
  accessTtl: number,
  actorId?: string,
): SessionEvent {
  return newEvent({
    type: 'session.revoked',
    userId: session.userId,
    sessionId: session.id,
    ...requestFields(ctx),
    device: session.device,
    data: {
      reason,
      accessTokensValidUntil: accessValidUntil(session, now, accessTtl).toISOString(),
      ...(actorId ? { actorId } : {}),
    },
  })
}

/** A `user.*` event of an account action; `actorId` is who acted (the user, an administrator, `cli`). */
export function accountEvent(
  type: 'user.unlocked' | 'user.disabled' | 'user.enabled' | 'user.password_changed',
  userId: string,
  actorId: string,
  ctx: RequestContext,
): SessionEvent {
  return newEvent({ type, userId, ...requestFields(ctx), data: { actorId } })
}

/** Durable first (the caller committed), then immediate: the next request anywhere sees the tombstone. */
export async function tombstone(
  hot: HotSessionState,
  revoked: SessionRecord[],
  now: Date,
  accessTtl: number,
): Promise<void> {
  if (revoked.length === 0) return
  await hot.markRevoked(revoked.map((s) => ({ id: s.id, until: accessValidUntil(s, now, accessTtl) })))
}
