import type { RevokeReason, SessionEvent } from '@africhain/events'
import type { Caller, RequestContext } from '../context.ts'
import { DomainError } from '../errors.ts'
import { accessValidUntil, revokedEvent } from '../events.ts'
import type { HotSessionState, Selection, SessionRecord, SessionStore } from '../ports.ts'
import type { SessionObserver } from './deps.ts'

/**
 * Revocation, of every kind: the caller's own session (`logout`), one of their sessions (`revoked`), all of
 * them (`logout_all`), every session of a user (`admin`, `risk`), and the revocations other use cases
 * commit (reuse detection, password changes, account administration). Durable first: the store revokes
 * and writes the events in one transaction; then immediate: the tombstones, so the next request anywhere
 * is refused.
 */

type Revoking = {
  sessions: SessionStore
  hot: HotSessionState
  policy: { accessTtl: number }
  observe?: Pick<SessionObserver, 'revoked'> | undefined
  now: () => Date
}

export type { Selection } from '../ports.ts'

/** After a revocation committed: counted, and tombstoned in the hot state until its last access token expires. */
export async function tombstone(
  d: Omit<Revoking, 'sessions' | 'now'>,
  revoked: SessionRecord[],
  reason: RevokeReason,
  now: Date,
): Promise<void> {
  if (revoked.length === 0) return
  d.observe?.revoked(reason, revoked.length)
  await d.hot.markRevoked(
    revoked.map((s) => ({ id: s.id, until: accessValidUntil(s, now, d.policy.accessTtl) })),
  )
}

/** Revokes the selected live sessions (`eventsFor` each, in the same transaction): how many. */
export async function revokeSessions(
  d: Revoking,
  selection: Selection,
  reason: RevokeReason,
  eventsFor: (session: SessionRecord, now: Date) => SessionEvent[],
): Promise<number> {
  const now = d.now()
  const revoked = await d.sessions.revoke(selection, reason, now, (s) => eventsFor(s, now))
  await tombstone(d, revoked, reason, now)
  return revoked.length
}

/** One `session.revoked` per session, with the actor when an administrator revoked. */
const revokeWith = (
  d: Revoking,
  selection: Selection,
  reason: RevokeReason,
  ctx: RequestContext,
  actorId?: string,
) =>
  revokeSessions(d, selection, reason, (s, now) => [
    revokedEvent(s, ctx, reason, now, d.policy.accessTtl, actorId),
  ])

/** Logout: the caller's own session. */
export async function logout(d: Revoking, caller: Caller, ctx: RequestContext): Promise<void> {
  await revokeWith(d, { userId: caller.userId, sessionIds: [caller.sessionId] }, 'logout', ctx)
}

/** One of the caller's sessions: SESSION_NOT_FOUND for one that is not theirs (or none). */
export async function revokeOwnSession(
  d: Revoking,
  caller: Caller,
  sessionId: string,
  ctx: RequestContext,
): Promise<void> {
  const session = await d.sessions.find(sessionId)
  if (!session || session.userId !== caller.userId) throw new DomainError('SESSION_NOT_FOUND')
  await revokeWith(d, { userId: caller.userId, sessionIds: [sessionId] }, 'revoked', ctx)
}

/** Every session of the caller, or every other one with `keepCurrent`: how many. */
export function logoutAll(d: Revoking, caller: Caller, keepCurrent: boolean, ctx: RequestContext) {
  const selection = keepCurrent
    ? { userId: caller.userId, exceptSessionId: caller.sessionId }
    : { userId: caller.userId }
  return revokeWith(d, selection, 'logout_all', ctx)
}

/**
 * Every live session of a user, by an administrator (`actorId` in each event): how many. An administrator's
 * lookup of one session or user is in account-admin.ts.
 */
export function revokeUserSessions(
  d: Revoking,
  selection: Selection,
  reason: 'admin',
  ctx: RequestContext,
  actorId?: string,
): Promise<number> {
  return revokeWith(d, selection, reason, ctx, actorId)
}

/**
 * Every live session of a user, for the risk alert `alertId` (reason `risk`), once per alert: how many, or
 * `duplicate` when the alert revoked before (`SessionStore.revokeForAlert`), so the sessions the user opened
 * since the first risk logout stay.
 */
export async function revokeForRiskAlert(
  d: Revoking,
  alertId: string,
  userId: string,
  ctx: RequestContext,
): Promise<number | 'duplicate'> {
  const now = d.now()
  const revoked = await d.sessions.revokeForAlert(alertId, { userId }, 'risk', now, (s) => [
    revokedEvent(s, ctx, 'risk', now, d.policy.accessTtl),
  ])
  if (!revoked) return 'duplicate'
  await tombstone(d, revoked, 'risk', now)
  return revoked.length
}
