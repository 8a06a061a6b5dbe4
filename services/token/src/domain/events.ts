import { newEvent, type RevokeReason, type SessionEvent } from '@africhain/events'
import type { RequestContext } from './context.ts'
import type { Device, SessionOwner, SessionRecord } from './ports.ts'

/**
 * The events the use cases write, built here once: whoever revokes (the user, an administrator, the
 * risk loop, a password change), consumers see the same `session.revoked`.
 */

/** Upper bound of the `exp` of any access token of this session issued up to `at`. */
export function accessValidUntil(session: SessionRecord, at: Date, accessTtl: number): Date {
  return new Date(Math.min(session.expiresAt.getTime(), at.getTime() + accessTtl * 1000))
}

/** The request's IP and User-Agent as event fields (each only when known): one rule for every event. */
export const requestFields = (ctx: RequestContext) => ({
  ...(ctx.ip ? { ip: ctx.ip } : {}),
  ...(ctx.userAgent ? { userAgent: ctx.userAgent } : {}),
})

/** A `session.*` or `token.*` event of one session: its user, id and device with the request's fields. */
export function sessionEvent<E extends Pick<SessionEvent, 'type' | 'data'>>(
  session: SessionOwner,
  ctx: RequestContext,
  e: E,
): SessionEvent {
  return newEvent({
    type: e.type,
    userId: session.userId,
    sessionId: session.id,
    ...requestFields(ctx),
    device: session.device,
    data: e.data,
  } as Parameters<typeof newEvent>[0])
}

export function revokedEvent(
  session: SessionRecord,
  ctx: RequestContext,
  reason: RevokeReason,
  now: Date,
  accessTtl: number,
  actorId?: string,
): SessionEvent {
  return sessionEvent(session, ctx, {
    type: 'session.revoked',
    data: {
      reason,
      accessTokensValidUntil: accessValidUntil(session, now, accessTtl).toISOString(),
      ...(actorId ? { actorId } : {}),
    },
  })
}

/** A refused password: at login (the device declared, the user when known) or a password change (the session). */
export function loginFailedEvent(
  who: { userId?: string; sessionId?: string; device?: Device },
  ctx: RequestContext,
  reason: 'invalid_credentials' | 'locked',
): SessionEvent {
  return newEvent({
    type: 'login.failed',
    ...(who.userId ? { userId: who.userId } : {}),
    ...(who.sessionId ? { sessionId: who.sessionId } : {}),
    ...requestFields(ctx),
    ...(who.device ? { device: who.device } : {}),
    data: { reason },
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
