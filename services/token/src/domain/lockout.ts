import { newEvent, type SessionEvent } from '@africhain/events'
import type { RequestContext } from './context.ts'
import { DomainError } from './errors.ts'
import { requestFields } from './events.ts'
import type { LoginGuard } from './ports.ts'

/** The login lock's account key of an existing user: every spelling of its identifier counts here. */
export const lockAccount = (userId: string) => `user:${userId}`

/**
 * The current-password check of a password change counts under its own key: as strictly as logins (a
 * stolen access token must not become a password oracle), but a stranger's failed logins, which lock
 * `lockAccount`, must not also stop the owner, signed in, from changing the password.
 */
export const passwordCheckAccount = (userId: string) => `password-change:user:${userId}`

export type CountedCheck = {
  /** The lock's key (`lockAccount`, `passwordCheckAccount`, or the unknown identifier's normal form). */
  account: string
  /** The user a lock is reported for (`user.locked`); none for an identifier that names nobody. */
  userId: string | undefined
  /** The password work: true when it matches. Runs only for an admitted attempt. */
  verify: () => Promise<boolean>
  /** The `login.failed` event of a refusal. */
  failedEvent: (reason: 'invalid_credentials' | 'locked') => SessionEvent
  /** The INVALID_CREDENTIALS message, when the standard one does not fit. */
  wrongDetail?: string
}

/**
 * The lockout rule, for logins and password changes alike. The attempt is counted before the password
 * work, atomically (parallel guesses cannot outrun the lock); a refused one answers LOGIN_LOCKED with the
 * seconds to wait, a wrong password INVALID_CREDENTIALS (and `user.locked` when it set the lock). An
 * attempt whose password was never checked (hashing refused, an outage) is not counted.
 */
export async function countedPasswordCheck(
  d: { guard: LoginGuard; appendEvents: (events: SessionEvent[]) => Promise<void>; now: () => Date },
  check: CountedCheck,
  ctx: RequestContext,
): Promise<void> {
  const attempt = await d.guard.admit(check.account)
  if (!attempt.admitted) {
    await d.appendEvents([check.failedEvent('locked')])
    throw new DomainError('LOGIN_LOCKED', { retryAfter: attempt.retryAfter })
  }
  let ok: boolean
  try {
    ok = await check.verify()
  } catch (err) {
    await d.guard.release(check.account).catch(() => {})
    throw err
  }
  if (!ok) {
    const lockedFor = await d.guard.failed(check.account, attempt.attempt)
    const events = [check.failedEvent('invalid_credentials')]
    if (check.userId !== undefined && lockedFor > 0) {
      const lockedUntil = new Date(d.now().getTime() + lockedFor * 1000).toISOString()
      events.push(
        newEvent({ type: 'user.locked', userId: check.userId, ...requestFields(ctx), data: { lockedUntil } }),
      )
    }
    await d.appendEvents(events)
    throw new DomainError('INVALID_CREDENTIALS', check.wrongDetail ? { detail: check.wrongDetail } : {})
  }
  await d.guard.succeeded(check.account)
}
