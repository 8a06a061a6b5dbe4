import type { RevokeReason } from '@africhain/events'
import type { RequestContext } from '../context.ts'
import { DomainError, invalidIdentifier } from '../errors.ts'
import { accountEvent, revokedEvent } from '../events.ts'
import { normaliseIdentifier } from '../identifier.ts'
import { lockAccount, passwordCheckAccount } from '../lockout.ts'
import type { Account } from '../ports.ts'
import { type SessionView, toSessionView } from '../session-view.ts'
import type { AccountDeps } from './deps.ts'
import { revokeUserSessions, tombstone } from './revoke-sessions.ts'

export type UserProfile = {
  userId: string
  identifier: string
  displayName: string | null
  roles: string[]
  createdAt: string
  locked: boolean
  disabled: boolean
}

/** Who acts: the administrator's user id and session (their own session shows as `current`), or `cli`. */
export type Actor = { actorId: string; sessionId?: string }

type Deps = AccountDeps<'users' | 'sessions' | 'hot' | 'guard', 'accessTtl'>

/**
 * What an operator does to accounts (the admin routes and the CLI call these, nothing else): look up,
 * unlock, disable and enable, revoke sessions. Every action that changes something writes an event
 * carrying `data.actorId` in the same transaction; a disable or enable of an account already so changes
 * nothing and writes none. A revocation by an administrator carries `actorId` in its `session.revoked`.
 */
export class AccountAdmin {
  #d: Deps
  #now: () => Date

  constructor(deps: Deps) {
    this.#d = deps
    this.#now = deps.now ?? (() => new Date())
  }

  /** The user an identifier names, in any spelling that normalises to it: 0 or 1. */
  async findByIdentifier(identifier: string): Promise<UserProfile[]> {
    const id = normaliseIdentifier(identifier)
    if (!id) throw invalidIdentifier()
    const user = await this.#d.users.findByIdentifier(id.value)
    const account = user ? await this.#d.users.findAccount(user.id) : undefined
    return account ? [await this.#profile(account)] : []
  }

  async profile(userId: string, actor: Actor): Promise<UserProfile & { sessions: SessionView[] }> {
    const account = await this.#account(userId)
    const sessions = await this.#d.sessions.listActive(userId, this.#now())
    return {
      ...(await this.#profile(account)),
      sessions: sessions.map((s) => toSessionView(s, actor.sessionId)),
    }
  }

  async list(): Promise<UserProfile[]> {
    const accounts = await this.#d.users.listAccounts()
    return Promise.all(accounts.map((a) => this.#profile(a)))
  }

  /** Lock and failure count cleared, then the event (a retried unlock is harmless: one more event). */
  async unlock(userId: string, actor: Actor, ctx: RequestContext): Promise<void> {
    await this.#account(userId)
    await this.#d.guard.unlock(lockAccount(userId))
    await this.#d.guard.unlock(passwordCheckAccount(userId))
    await this.#d.sessions.appendEvents([accountEvent('user.unlocked', userId, actor.actorId, ctx)])
  }

  /** Disabled, and every live session revoked (reason `admin`) in the same transaction. */
  async disable(userId: string, actor: Actor, ctx: RequestContext): Promise<void> {
    // Disabling oneself would leave the service without the administrator who did it.
    if (actor.actorId === userId)
      throw new DomainError('FORBIDDEN', { detail: 'an administrator cannot disable their own account' })
    await this.#assertAdmin(actor)
    const now = this.#now()
    const reason: RevokeReason = 'admin'
    const result = await this.#d.users.updateAccount(userId, now, (account) => ({
      disabled: true,
      // Even when already disabled: a session that slipped in is revoked (its own event says so).
      revoke: {
        reason,
        eventsFor: (s) => [revokedEvent(s, ctx, reason, now, this.#d.policy.accessTtl, actor.actorId)],
      },
      events: account.disabled ? [] : [accountEvent('user.disabled', userId, actor.actorId, ctx)],
    }))
    if (!result) throw new DomainError('USER_NOT_FOUND')
    await tombstone(this.#d, result.revoked, reason, now)
  }

  /** Login and refresh work again; sessions revoked by the disable stay revoked. */
  async enable(userId: string, actor: Actor, ctx: RequestContext): Promise<void> {
    await this.#assertAdmin(actor)
    const result = await this.#d.users.updateAccount(userId, this.#now(), (account) =>
      account.disabled
        ? { disabled: false, events: [accountEvent('user.enabled', userId, actor.actorId, ctx)] }
        : null,
    )
    if (!result) throw new DomainError('USER_NOT_FOUND')
  }

  /** One session, whoever owns it: 404 SESSION_NOT_FOUND when there is none; one already ended stays so. */
  async revokeSession(sessionId: string, actor: Actor, ctx: RequestContext): Promise<void> {
    const session = await this.#d.sessions.find(sessionId)
    if (!session) throw new DomainError('SESSION_NOT_FOUND')
    await this.#revoke({ userId: session.userId, sessionIds: [sessionId] }, actor, ctx)
  }

  /** Every live session of a user (reason `admin`): how many. */
  async revokeUser(userId: string, actor: Actor, ctx: RequestContext): Promise<number> {
    await this.#account(userId)
    return this.#revoke({ userId }, actor, ctx)
  }

  /**
   * Disable and enable lock a person out of the service: the actor's `admin` role is read from the
   * database, not from their access token, so an administrator whose role was removed (or who was
   * disabled) cannot use it for the rest of the token's lifetime. The CLI (`cli`) runs with database access.
   */
  async #assertAdmin(actor: Actor): Promise<void> {
    if (actor.actorId === 'cli') return
    const account = await this.#d.users.findAccount(actor.actorId)
    if (!account || account.disabled || !account.roles.includes('admin'))
      throw new DomainError('FORBIDDEN', { detail: 'this needs the admin role' })
  }

  #revoke(selection: { userId: string; sessionIds?: string[] }, actor: Actor, ctx: RequestContext) {
    return revokeUserSessions({ ...this.#d, now: this.#now }, selection, 'admin', ctx, actor.actorId)
  }

  async #account(userId: string): Promise<Account> {
    const account = await this.#d.users.findAccount(userId)
    if (!account) throw new DomainError('USER_NOT_FOUND')
    return account
  }

  async #profile(account: Account): Promise<UserProfile> {
    return {
      userId: account.id,
      identifier: account.identifier,
      displayName: account.displayName,
      roles: account.roles,
      createdAt: account.createdAt.toISOString(),
      locked: (await this.#d.guard.lockedFor(lockAccount(account.id))) > 0,
      disabled: account.disabled,
    }
  }
}
