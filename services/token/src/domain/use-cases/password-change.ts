import type { RevokeReason, SessionEvent } from '@africhain/events'
import type { Caller, RequestContext } from '../context.ts'
import { DomainError } from '../errors.ts'
import { accountEvent, loginFailedEvent, revokedEvent } from '../events.ts'
import { countedPasswordCheck, passwordCheckAccount } from '../lockout.ts'
import { hashPassword, verifyPassword } from '../password.ts'
import type { AccountDeps } from './deps.ts'
import { tombstone } from './revoke-sessions.ts'

type Deps = AccountDeps<'users' | 'hot' | 'guard', 'accessTtl' | 'passwordCost'> & {
  /** Outbox-only events (a failed check, a lock): the session store's `appendEvents`. */
  appendEvents: (events: SessionEvent[]) => Promise<void>
}

/**
 * Password changes: by the user (`POST /auth/password`, the current password checked) and by an operator
 * (`pnpm cli user:set-password`). Either way the new hash, the revocations (reason `password_changed`) and
 * the `user.password_changed` event are one transaction; the tombstones follow the commit.
 */
export class PasswordChange {
  #d: Deps
  #now: () => Date

  constructor(deps: Deps) {
    this.#d = deps
    this.#now = deps.now ?? (() => new Date())
  }

  /**
   * The caller's own password. The current password is counted like a login attempt, under its own key
   * (`passwordCheckAccount`): a stolen access token must not become an unlimited password oracle, and a
   * stranger's failed logins must not lock the owner out of changing it. The caller's session stays;
   * every other one is revoked.
   */
  async change(
    caller: Caller,
    input: { currentPassword: string; newPassword: string },
    ctx: RequestContext,
  ): Promise<void> {
    const user = await this.#d.users.findById(caller.userId)
    if (!user) throw new DomainError('USER_NOT_FOUND')
    await countedPasswordCheck(
      { guard: this.#d.guard, appendEvents: this.#d.appendEvents, now: this.#now },
      {
        account: passwordCheckAccount(user.id),
        userId: user.id,
        verify: () => verifyPassword(input.currentPassword, user.passwordHash),
        failedEvent: (reason) => loginFailedEvent(caller, ctx, reason),
        wrongDetail: 'the current password is wrong',
      },
      ctx,
    )
    await this.#store(user.id, input.newPassword, user.id, ctx, {
      sessionId: caller.sessionId,
      verifiedHash: user.passwordHash,
    })
  }

  /**
   * An operator sets the password (`actorId`: who, e.g. `cli`): every session of the user is revoked.
   * Returns how many were.
   */
  async set(userId: string, newPassword: string, actorId: string, ctx: RequestContext): Promise<number> {
    return this.#store(userId, newPassword, actorId, ctx)
  }

  async #store(
    userId: string,
    password: string,
    actorId: string,
    ctx: RequestContext,
    /** A change by the user: their session stays, and the password they proved must still be the stored one. */
    caller?: { sessionId: string; verifiedHash: string },
  ): Promise<number> {
    const passwordHash = await hashPassword(password, this.#d.policy.passwordCost)
    const now = this.#now()
    const reason: RevokeReason = 'password_changed'
    const result = await this.#d.users.updateAccount(userId, now, (account) => {
      // Two changes raced: the other committed first, so the password this caller proved is gone (and its
      // session with it). Without this both answered 204 and the second hash silently won or lost.
      if (caller && account.passwordHash !== caller.verifiedHash)
        throw new DomainError('INVALID_CREDENTIALS', {
          detail: 'the password was changed meanwhile; sign in again',
        })
      return {
        passwordHash,
        revoke: {
          ...(caller ? { exceptSessionId: caller.sessionId } : {}),
          reason,
          eventsFor: (s) => [revokedEvent(s, ctx, reason, now, this.#d.policy.accessTtl)],
        },
        events: [accountEvent('user.password_changed', userId, actorId, ctx)],
      }
    })
    if (!result) throw new DomainError('USER_NOT_FOUND')
    await tombstone(this.#d, result.revoked, reason, now)
    return result.revoked.length
  }
}
