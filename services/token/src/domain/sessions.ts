import { randomBytes, randomUUID } from 'node:crypto'
import { newEvent, type RevokeReason, type SessionEvent } from '@africhain/events'
import { ApiError } from '@africhain/http'
import { accessValidUntil, lockAccount, requestFields, revokedEvent } from './account-events.ts'
import { normaliseIdentifier } from './identifier.ts'
import { dummyHash, hashPassword, verifyPassword } from './password.ts'
import type {
  AccessTokenSigner,
  Device,
  HotSessionState,
  LoginGuard,
  SessionRecord,
  SessionStore,
  User,
  UserStore,
} from './ports.ts'
import {
  hashRefreshToken,
  isRefreshTokenShape,
  newRefreshToken,
  openSuccessor,
  sealSuccessor,
} from './refresh-token.ts'
import { type SessionView, toSessionView } from './session-view.ts'

export type SessionPolicy = {
  /** All durations in seconds. */
  accessTtl: number
  refreshTtl: number
  refreshLongTtl: number
  reuseGrace: number
  passwordCost: number
}

export type RequestContext = { ip: string; userAgent: string | null }

export type TokenPair = {
  accessToken: string
  refreshToken: string
  tokenType: 'Bearer'
  expiresIn: number
  refreshExpiresIn: number
  sessionId: string
}

export type Caller = { userId: string; sessionId: string }

type Deps = {
  users: UserStore
  sessions: SessionStore
  hot: HotSessionState
  guard: LoginGuard
  signer: AccessTokenSigner
  policy: SessionPolicy
  observe?: SessionObserver
  now?: () => Date
}

/** Counters the service reports to (metrics); optional so the rules stay testable without them. */
export type SessionObserver = {
  refreshed(): void
  reuseDetected(): void
  revoked(reason: RevokeReason, count: number): void
}

const seconds = (ms: number) => Math.floor(ms / 1000)

/**
 * The session rules: registration, login with lockout, token pairs, rotation with reuse detection and a
 * grace window, device binding, revocation. State changes go through the stores (one transaction each,
 * event included); the hot Redis state is written after the commit, so it never runs ahead of MySQL.
 */
export class SessionService {
  #d: Deps
  #now: () => Date
  #dummy: Promise<string>

  constructor(deps: Deps) {
    this.#d = deps
    this.#now = deps.now ?? (() => new Date())
    this.#dummy = dummyHash(deps.policy.passwordCost)
  }

  async register(
    input: { identifier: string; password: string; displayName?: string; roles?: string[] },
    ctx: RequestContext,
  ): Promise<{ userId: string }> {
    const id = normaliseIdentifier(input.identifier)
    if (!id)
      throw new ApiError('VALIDATION_FAILED', 'identifier must be an E.164 phone number or an email address')
    const user: User = {
      id: randomUUID(),
      identifier: id.value,
      passwordHash: await hashPassword(input.password, this.#d.policy.passwordCost),
      displayName: input.displayName ?? null,
      roles: input.roles ?? ['user'],
    }
    const event = newEvent({
      type: 'user.registered',
      userId: user.id,
      ...requestFields(ctx),
      data: { identifierKind: id.kind },
    })
    if (!(await this.#d.users.create(user, event)))
      throw new ApiError('IDENTIFIER_TAKEN', 'identifier is already registered')
    return { userId: user.id }
  }

  async login(
    input: { identifier: string; password: string; device: Device; rememberMe?: boolean },
    ctx: RequestContext,
  ): Promise<TokenPair> {
    const id = normaliseIdentifier(input.identifier)
    const user = id ? await this.#d.users.findByIdentifier(id.value) : undefined
    // Lockout is per account: every spelling that finds the user counts against its id. An unknown
    // identifier is counted under its normal form and answered the same way.
    const account = user
      ? lockAccount(user.id)
      : `identifier:${id?.value ?? input.identifier.normalize('NFKC')}`
    // Counted before the password work, atomically: parallel guesses cannot outrun the lock.
    const attempt = await this.#d.guard.admit(account)
    if (!attempt.admitted) {
      await this.#d.sessions.appendEvents([this.#loginFailed(user, input.device, ctx, 'locked')])
      throw new ApiError('LOGIN_LOCKED', undefined, { 'Retry-After': String(attempt.retryAfter) })
    }
    // Always one scrypt verification, against a dummy hash for unknown identifiers: same latency either way.
    let ok: boolean
    try {
      ok = await verifyPassword(input.password, user?.passwordHash ?? (await this.#dummy))
    } catch (err) {
      await this.#d.guard.release(account).catch(() => {})
      throw err
    }
    if (!user || !ok) {
      const lockedFor = await this.#d.guard.failed(account, attempt.attempt)
      const events = [this.#loginFailed(user, input.device, ctx, 'invalid_credentials')]
      if (user && lockedFor > 0) {
        const lockedUntil = new Date(this.#now().getTime() + lockedFor * 1000).toISOString()
        events.push(
          newEvent({
            type: 'user.locked',
            userId: user.id,
            ...requestFields(ctx),
            data: { lockedUntil },
          }),
        )
      }
      await this.#d.sessions.appendEvents(events)
      throw new ApiError('INVALID_CREDENTIALS')
    }
    await this.#d.guard.succeeded(account)
    // Only after the right password: a stranger cannot learn that an account is disabled.
    if (user.disabled) throw new ApiError('USER_DISABLED')
    return this.#openSession(user, input.device, input.rememberMe === true, ctx)
  }

  async refresh(token: string, device: Device | undefined, ctx: RequestContext): Promise<TokenPair> {
    if (!isRefreshTokenShape(token)) throw new ApiError('TOKEN_INVALID')
    const found = await this.#d.sessions.findByRefreshHash(hashRefreshToken(token))
    if (!found) throw new ApiError('TOKEN_INVALID')
    if (found.disabled) throw new ApiError('USER_DISABLED')
    const user = { id: found.session.userId, roles: found.roles }
    let session = found.session
    // At most two rounds: a lost CAS re-reads the session once and is then judged as the previous token.
    for (let round = 0; round < 2; round++) {
      const now = this.#now()
      this.#assertLive(session, now)
      const current = found.generation === session.generation
      const previousInGrace =
        found.generation === session.generation - 1 &&
        session.rotatedAgoMs !== null &&
        session.rotatedAgoMs <= this.#d.policy.reuseGrace * 1000 &&
        session.successorEnc !== null
      // Any older token (or the previous one after the grace window) is reuse whoever presents it: judged
      // before the device binding, so a replay from another device cannot pass as a mere mismatch.
      if (!current && !previousInGrace) break
      // A session bound to a device id at login refreshes only from that device: another id, or none.
      if (session.device.id !== undefined && device?.id !== session.device.id) {
        await this.#d.sessions.appendEvents([
          this.#event(session, ctx, {
            type: 'session.device_mismatch',
            data: { presentedDeviceId: device?.id ?? '' },
          }),
        ])
        throw new ApiError('DEVICE_MISMATCH')
      }
      if (current) {
        const successor = newRefreshToken()
        const won = await this.#d.sessions.rotate({
          sessionId: session.id,
          fromGeneration: found.generation,
          newHash: hashRefreshToken(successor),
          successorEnc: sealSuccessor(token, session.id, successor),
          now,
          ip: ctx.ip,
          userAgent: ctx.userAgent,
          event: this.#event(session, ctx, {
            type: 'session.refreshed',
            data: { generation: found.generation + 1 },
          }),
        })
        if (won) {
          this.#d.observe?.refreshed()
          return this.#pair(user, session, successor, now)
        }
        const reread = await this.#d.sessions.find(session.id)
        if (!reread) throw new ApiError('TOKEN_INVALID')
        session = reread
        continue
      }
      // The immediately previous token inside the grace window: the same successor, never a second chain.
      const successor = openSuccessor(token, session.id, session.successorEnc!)
      if (successor) return this.#pair(user, session, successor, now)
      break
    }
    await this.#revoke({ userId: session.userId, sessionIds: [session.id] }, 'reuse_detected', (s, now) => [
      this.#event(s, ctx, {
        type: 'token.reuse_detected',
        data: { presentedGeneration: found.generation, currentGeneration: s.generation },
      }),
      this.#revokedEvent(s, ctx, 'reuse_detected', now),
    ])
    this.#d.observe?.reuseDetected()
    throw new ApiError('TOKEN_REUSED')
  }

  /** Logout: the caller's own session. */
  async logout(caller: Caller, ctx: RequestContext): Promise<void> {
    await this.#revokeWith({ userId: caller.userId, sessionIds: [caller.sessionId] }, 'logout', ctx)
  }

  async revokeSession(caller: Caller, sessionId: string, ctx: RequestContext): Promise<void> {
    const session = await this.#d.sessions.find(sessionId)
    if (!session || session.userId !== caller.userId) throw new ApiError('SESSION_NOT_FOUND')
    await this.#revokeWith({ userId: caller.userId, sessionIds: [sessionId] }, 'revoked', ctx)
  }

  async logoutAll(caller: Caller, keepCurrent: boolean, ctx: RequestContext): Promise<number> {
    const selection = keepCurrent
      ? { userId: caller.userId, exceptSessionId: caller.sessionId }
      : { userId: caller.userId }
    return this.#revokeWith(selection, 'logout_all', ctx)
  }

  /** Every live session of a user, for an administrator (`admin`) or the risk loop (`risk`). */
  async revokeUser(userId: string, reason: 'admin' | 'risk', ctx: RequestContext): Promise<number> {
    return this.#revokeWith({ userId }, reason, ctx)
  }

  async list(caller: Caller): Promise<SessionView[]> {
    const sessions = await this.#d.sessions.listActive(caller.userId, this.#now())
    return sessions.map((s) => toSessionView(s, caller.sessionId))
  }

  /**
   * The hot state could not answer for a session (Redis lost it, or refuses writes so its "active" may be
   * stale): answer from MySQL and re-warm it when Redis takes the write. `sub` is the token's user: a
   * session of another user is 'foreign'.
   */
  async resolveUnknown(sessionId: string, sub: string): Promise<'active' | 'revoked' | 'foreign'> {
    const session = await this.#d.sessions.find(sessionId)
    const now = this.#now()
    if (!session || session.expiresAt <= now) return 'revoked'
    if (session.userId !== sub) return 'foreign'
    try {
      if (session.revokedAt) {
        await this.#d.hot.markRevoked([
          { id: session.id, until: this.#accessValidUntil(session, session.revokedAt) },
        ])
        return 'revoked'
      }
      await this.#d.hot.markActive(session.id, session.userId, session.expiresAt)
    } catch {
      // Redis refuses the write: MySQL's answer stands (the probe now makes every request ask MySQL).
      return session.revokedAt ? 'revoked' : 'active'
    }
    // Re-read: a revocation may have committed between our read and the write; NX kept its tombstone then.
    return (await this.#d.hot.read(session.id, sub)) === 'revoked' ? 'revoked' : 'active'
  }

  async #openSession(
    user: User,
    device: Device,
    rememberMe: boolean,
    ctx: RequestContext,
  ): Promise<TokenPair> {
    const now = this.#now()
    const ttl = rememberMe ? this.#d.policy.refreshLongTtl : this.#d.policy.refreshTtl
    const session: SessionRecord = {
      id: randomBytes(16).toString('base64url'),
      userId: user.id,
      device,
      userAgent: ctx.userAgent,
      ip: ctx.ip,
      rememberMe,
      createdAt: now,
      lastActiveAt: now,
      expiresAt: new Date(now.getTime() + ttl * 1000),
      revokedAt: null,
      revokedReason: null,
      generation: 1,
      rotatedAt: null,
      rotatedAgoMs: null,
      successorEnc: null,
    }
    const refreshToken = newRefreshToken()
    const events = [
      this.#event(session, ctx, {
        type: 'session.created',
        data: { expiresAt: session.expiresAt.toISOString(), rememberMe },
      }),
    ]
    // The store re-reads the user row locked: disabled, or the verified password replaced, since our read.
    const outcome = await this.#d.sessions.create(
      session,
      hashRefreshToken(refreshToken),
      events,
      user.passwordHash,
    )
    if (outcome === 'user_disabled') throw new ApiError('USER_DISABLED')
    if (outcome === 'password_changed') throw new ApiError('INVALID_CREDENTIALS')
    await this.#d.hot.markActive(session.id, user.id, session.expiresAt)
    return this.#pair(user, session, refreshToken, now)
  }

  #pair(
    user: Pick<User, 'id' | 'roles'>,
    session: SessionRecord,
    refreshToken: string,
    now: Date,
  ): TokenPair {
    const nowSec = seconds(now.getTime())
    // An access token never outlives its session.
    const exp = Math.min(nowSec + this.#d.policy.accessTtl, seconds(session.expiresAt.getTime()))
    return {
      accessToken: this.#d.signer.sign({ sub: user.id, sid: session.id, roles: user.roles, exp }),
      refreshToken,
      tokenType: 'Bearer',
      expiresIn: exp - nowSec,
      refreshExpiresIn: seconds(session.expiresAt.getTime()) - nowSec,
      sessionId: session.id,
    }
  }

  #assertLive(session: SessionRecord, now: Date): void {
    if (session.revokedAt) throw new ApiError('TOKEN_REVOKED')
    if (session.expiresAt <= now) throw new ApiError('TOKEN_EXPIRED')
  }

  /** Upper bound of the `exp` of any access token of this session issued up to `at`. */
  #accessValidUntil(session: SessionRecord, at: Date): Date {
    return accessValidUntil(session, at, this.#d.policy.accessTtl)
  }

  async #revokeWith(
    selection: { userId: string; sessionIds?: string[]; exceptSessionId?: string },
    reason: RevokeReason,
    ctx: RequestContext,
  ): Promise<number> {
    return this.#revoke(selection, reason, (s, now) => [this.#revokedEvent(s, ctx, reason, now)])
  }

  async #revoke(
    selection: { userId: string; sessionIds?: string[]; exceptSessionId?: string },
    reason: RevokeReason,
    eventsFor: (session: SessionRecord, now: Date) => SessionEvent[],
  ): Promise<number> {
    const now = this.#now()
    const revoked = await this.#d.sessions.revoke(selection, reason, now, (s) => eventsFor(s, now))
    // Durable first (committed above), then immediate: the next request anywhere sees the tombstone.
    if (revoked.length > 0) {
      this.#d.observe?.revoked(reason, revoked.length)
      await this.#d.hot.markRevoked(revoked.map((s) => ({ id: s.id, until: this.#accessValidUntil(s, now) })))
    }
    return revoked.length
  }

  #revokedEvent(session: SessionRecord, ctx: RequestContext, reason: RevokeReason, now: Date): SessionEvent {
    return revokedEvent(session, ctx, reason, now, this.#d.policy.accessTtl)
  }

  #event<E extends Pick<SessionEvent, 'type' | 'data'>>(
    session: SessionRecord,
    ctx: RequestContext,
    e: E,
  ): SessionEvent {
    return newEvent({
      ...e,
      userId: session.userId,
      sessionId: session.id,
      ...requestFields(ctx),
      device: session.device,
    } as Parameters<typeof newEvent>[0])
  }

  #loginFailed(
    user: User | undefined,
    device: Device,
    ctx: RequestContext,
    reason: 'invalid_credentials' | 'locked',
  ): SessionEvent {
    return newEvent({
      type: 'login.failed',
      ...(user ? { userId: user.id } : {}),
      ...requestFields(ctx),
      device,
      data: { reason },
    })
  }
}
