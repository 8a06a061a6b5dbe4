import type { RevokeReason, SessionEvent } from '@africhain/events'
import type { SessionState } from '@africhain/verifier'

/** The ports the domain needs. Each method states its atomicity; adapters live in `storage/`. */

export type User = {
  id: string
  identifier: string
  passwordHash: string
  displayName: string | null
  roles: string[]
  /** An administrator disabled the account: login and refresh are refused (absent: not disabled). */
  disabled?: boolean
}

/** A user as an administrator sees it (no password hash). */
export type Account = {
  id: string
  identifier: string
  displayName: string | null
  roles: string[]
  createdAt: Date
  disabled: boolean
}

/** What an account use case changes, decided while the user row is locked (see `UserStore.updateAccount`). */
export type AccountUpdate = {
  passwordHash?: string
  disabled?: boolean
  /** Live sessions of the user to revoke in the same transaction (all of them but `exceptSessionId`). */
  revoke?: {
    exceptSessionId?: string
    reason: RevokeReason
    eventsFor: (session: SessionRecord) => SessionEvent[]
  }
  events: SessionEvent[]
}

/** Which live sessions of a user a revocation takes. */
export type Selection = { userId: string; sessionIds?: string[]; exceptSessionId?: string }

export type Device = { id?: string; platform: string; name?: string }

export type SessionRecord = {
  id: string
  userId: string
  device: Device
  userAgent: string | null
  ip: string
  rememberMe: boolean
  createdAt: Date
  lastActiveAt: Date
  expiresAt: Date
  revokedAt: Date | null
  revokedReason: string | null
  generation: number
  rotatedAt: Date | null
  /** How long ago it last rotated, by the database's clock (null: never); the grace window reads this. */
  rotatedAgoMs: number | null
  successorEnc: string | null
  /** SHA-256 of the current refresh token (null only for a session whose current token is older than 008). */
  currentHash: Buffer | null
  /** SHA-256 of the previous refresh token (null before the first rotation). */
  previousHash: Buffer | null
}

/** What never changes about a session once opened: whose it is, the device it was opened on, when it ends. */
export type SessionOwner = Pick<SessionRecord, 'id' | 'userId' | 'device' | 'expiresAt'>

/** A session as a process remembers it: its owner and the user's roles as last read (which may change). */
export type KnownSession = SessionOwner & { roles: string[] }

export interface UserStore {
  /** Inserts the user and its `user.registered` event in one transaction; false when the identifier is taken. */
  create(user: User, event: SessionEvent): Promise<boolean>
  findByIdentifier(identifier: string): Promise<User | undefined>
  findById(id: string): Promise<User | undefined>
  findAccount(id: string): Promise<Account | undefined>
  /** Every account, oldest first (the admin CLI's listing). */
  listAccounts(): Promise<Account[]>
  /**
   * One transaction on one account: locks the user row, calls `decide` with it (null: change nothing),
   * writes the password hash / disabled flag it returns, revokes the sessions it selects (rows locked, as
   * `SessionStore.revoke` does) and writes its events. A login racing a disable either created its session
   * before (and it is revoked here) or finds the user disabled (`SessionStore.create` reads the row locked).
   * Returns undefined when the user does not exist, else the account as locked and the sessions revoked.
   * `decide` also sees the stored password hash, so a change decided on a password checked before the lock
   * can refuse (throw) when another change committed meanwhile; a throw rolls everything back.
   */
  updateAccount(
    id: string,
    now: Date,
    decide: (account: Account & { passwordHash: string }) => AccountUpdate | null,
  ): Promise<{ account: Account; revoked: SessionRecord[] } | undefined>
}

export type Rotation = {
  sessionId: string
  /** The session's owner: whose roles the new access token carries. */
  userId: string
  /** The generation the presented token belongs to: the CAS only succeeds if it is still current. */
  fromGeneration: number
  /** Hash of the presented token: it must be the session's current one; it becomes the previous one. */
  presentedHash: Buffer
  /**
   * The caller matched the presented token by its `refresh_tokens` row, because the session has no current
   * hash yet (a session no rotation of this release has touched: token migration 008): only then may the
   * compare-and-set find the session without one. Without it the session's current hash must be the
   * presented one, so a token with a valid MAC that was never handed out cannot rotate such a session.
   */
  matchedByRow?: boolean
  /** The device id the request presents: a session bound to a device rotates only from that device. */
  presentedDeviceId: string | undefined
  /**
   * The user's roles as the caller last read them: when given, the compare-and-set also requires them
   * unchanged and nothing is read back; when not, they are read inside the transaction.
   */
  roles?: string[]
  newHash: Buffer
  successorEnc: string
  now: Date
  ip: string
  userAgent: string | null
  event: SessionEvent
}

export interface SessionStore {
  /**
   * Session row (its first refresh token's hash in `currentHash`) and the events, in one transaction, with the user row locked.
   * Nothing is written when by then the user is disabled or gone (`user_disabled`), or when its password
   * hash is no longer `passwordHash`, the one the login verified (`password_changed`): a login racing a
   * disable or a password change never leaves a session that the change would have revoked.
   */
  create(
    session: SessionRecord,
    events: SessionEvent[],
    passwordHash?: string,
  ): Promise<'created' | 'user_disabled' | 'password_changed'>
  /**
   * The session a legacy refresh token (one without a session in it) was issued for, the generation it was
   * issued at, the user's current roles and whether the user is disabled (one query, by the token's row).
   */
  findByRefreshHash(
    hash: Buffer,
  ): Promise<{ session: SessionRecord; generation: number; roles: string[]; disabled: boolean } | undefined>
  /** A session with its user's roles and disabled mark, by id (a signed token names its session). */
  findWithUser(
    id: string,
  ): Promise<{ session: SessionRecord; roles: string[]; disabled: boolean } | undefined>
  find(id: string): Promise<SessionRecord | undefined>
  /**
   * One compare-and-set: advances the session from `fromGeneration` to the next one only if it is still at
   * `fromGeneration` with `presentedHash` as its current token, not revoked, not expired, bound to no other
   * device (and, when `roles` are given, its user's roles unchanged); records the new hash and the event in
   * the same transaction. Returns the user's roles as they now stand (for the new access token), or
   * undefined when any condition failed (another request won the race, the session ended, the device or the
   * roles differ) — the caller then reads the session to learn which.
   */
  rotate(rotation: Rotation): Promise<string[] | undefined>
  /**
   * A session this process has created or read (remembered, bounded): what a rotation's event and answer
   * need before its one round trip. Undefined when not remembered. Its owner, device and expiry never change
   * while the session lives; the roles are those last read, which that rotation checks.
   */
  known(id: string): KnownSession | undefined
  /**
   * Revokes the selected live sessions of a user in one transaction (rows locked, so a racing rotation either
   * commits before and is revoked too, or fails its CAS after) and writes one event per revoked session.
   * Returns the sessions this call revoked; already revoked or expired ones are left alone.
   */
  revoke(
    selection: Selection,
    reason: RevokeReason,
    now: Date,
    eventsFor: (session: SessionRecord) => SessionEvent[],
  ): Promise<SessionRecord[]>
  /**
   * `revoke` on behalf of a risk alert, at most once per alert: the alert's id is recorded in the same
   * transaction and its primary key decides, so the alert read again — redelivered, published again after
   * Redis lost it, or delivered to two instances at once — revokes nothing. Undefined when it applied before.
   */
  revokeForAlert(
    alertId: string,
    selection: Selection,
    reason: RevokeReason,
    now: Date,
    eventsFor: (session: SessionRecord) => SessionEvent[],
  ): Promise<SessionRecord[] | undefined>
  listActive(userId: string, now: Date): Promise<SessionRecord[]>
  /** Events that go with no state change of ours (failed logins, device mismatches): outbox only. */
  appendEvents(events: SessionEvent[]): Promise<void>
}

/** The hot, rebuildable copy of session state in Redis. Writes Redis refuses reject (and are reported). */
export interface HotSessionState {
  /** The state of `sid` as seen by a token of `userId` ('foreign' when another user owns it). */
  read(sid: string, userId: string): Promise<SessionState>
  /** Active, owned by `userId`, unless a state exists already (a tombstone always wins). */
  markActive(sid: string, userId: string, expiresAt: Date): Promise<void>
  markRevoked(sessions: { id: string; until: Date }[]): Promise<void>
}

export type LoginAttempt = { admitted: true; attempt: number } | { admitted: false; retryAfter: number }

/**
 * Login lockout, per account: the user id when the identifier exists, the normalised identifier when it
 * does not (answered the same way). Attempts are counted before the password is checked.
 */
export interface LoginGuard {
  /**
   * Atomically counts one attempt. Admitted attempts carry their number in the window; refused ones (the
   * account is locked, or the window's `threshold` attempts are already counted) the seconds to wait.
   */
  admit(account: string): Promise<LoginAttempt>
  /** The admitted attempt failed its password check: the lock's seconds when it locked the account, else 0. */
  failed(account: string, attempt: number): Promise<number>
  /** The admitted attempt never checked its password (hashing refused, an outage): it is not counted. */
  release(account: string): Promise<void>
  /** A correct password: the count starts again. */
  succeeded(account: string): Promise<void>
  /** An administrator lifts the lock: lock and count cleared together. */
  unlock(account: string): Promise<void>
  /** Seconds left on the account's lock, 0 when it is not locked. */
  lockedFor(account: string): Promise<number>
}

export type AccessClaims = { sub: string; sid: string; roles: string[]; exp: number }

export interface AccessTokenSigner {
  sign(claims: AccessClaims): string
}
