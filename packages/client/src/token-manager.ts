import type { SessionEvents } from './emitter.ts'
import { AuthError, AuthErrorCode, SESSION_ENDING_CODES } from './errors.ts'
import { type LockManagerLike, withLock } from './lock.ts'
import {
  type EndedSession,
  isLive,
  type LiveSession,
  parseRecord,
  recordFromPair,
  refreshDueAt,
  type TokenPair,
} from './session-record.ts'
import type { TokenStorage } from './storage.ts'

export type TokenManagerOptions = {
  storage: TokenStorage
  storageKey: string
  locks: LockManagerLike | undefined
  refreshMarginMs: number
  /** How long a tab that waited for the lock watches storage for the winner's tokens. */
  storageSettleMs: number
  events: SessionEvents
  /** Calls POST /auth/refresh-token; rejects with the service's AuthError. */
  refresh: (session: LiveSession) => Promise<TokenPair>
}

/**
 * Owns the stored session: reading it, refreshing it at most once at a time, ending it.
 * Storage is the source of truth (it may be shared with other tabs), so every use re-reads it.
 */
export class TokenManager {
  #options: TokenManagerOptions
  #lockName: string
  /** The session this client last saw alive: lets it notice, once, that another tab ended it. */
  #knownSessionId: string | undefined
  /** Single flight: every caller in this client that needs a refresh meanwhile awaits this one. */
  #inflight: Promise<LiveSession> | undefined

  constructor(options: TokenManagerOptions) {
    this.#options = options
    this.#lockName = `africhain-auth:${options.storageKey}`
  }

  /** The stored live session, or an AuthError; emits `sessionEnded` if it ended in another client. */
  async load(): Promise<LiveSession> {
    const record = parseRecord(await this.#options.storage.get(this.#options.storageKey))
    if (isLive(record)) {
      this.#knownSessionId = record.sessionId
      return record
    }
    const known = this.#knownSessionId
    if (known === undefined) throw new AuthError(AuthErrorCode.NOT_AUTHENTICATED, 'not logged in')
    this.#knownSessionId = undefined
    const reason = record?.sessionId === known ? record.endedReason : AuthErrorCode.NOT_AUTHENTICATED
    this.#options.events.emit(reason)
    throw new AuthError(reason, 'the session was ended by another client sharing this storage', {
      status: 401,
    })
  }

  /** A session whose access token is not due for refresh, refreshing first if it is. */
  async valid(): Promise<LiveSession> {
    const session = await this.load()
    if (Date.now() < refreshDueAt(session, this.#options.refreshMarginMs)) return session
    try {
      return await this.refresh(session.accessToken)
    } catch (error) {
      // Proactive refresh failed for a passing reason (offline, 429, 503): the current token
      // still works until it expires, so use it rather than fail the caller early.
      if (isTransient(error) && Date.now() < session.expiresAt) return session
      throw error
    }
  }

  /**
   * Replaces `staleAccessToken` with a fresh one. Concurrent callers in this client share one
   * flight; clients in other tabs are serialised by the lock, and whoever waited re-reads storage
   * inside it and takes the tokens the winner stored instead of presenting a rotated-out refresh
   * token (which, past the service's grace window, would end the session as TOKEN_REUSED).
   */
  refresh(staleAccessToken: string): Promise<LiveSession> {
    this.#inflight ??= withLock(this.#options.locks, this.#lockName, (waited) =>
      this.#refreshLocked(staleAccessToken, waited),
    ).finally(() => {
      this.#inflight = undefined
    })
    return this.#inflight
  }

  async #refreshLocked(staleAccessToken: string, waited: boolean): Promise<LiveSession> {
    let session = await this.load()
    if (waited) session = await this.#awaitOtherContext(session, staleAccessToken)
    if (this.#isFresh(session, staleAccessToken)) return session
    let pair: TokenPair
    try {
      pair = await this.#options.refresh(session)
    } catch (error) {
      if (error instanceof AuthError && SESSION_ENDING_CODES.has(error.code)) {
        await this.end(session.sessionId, error.code)
      }
      throw error
    }
    const next = recordFromPair(pair, session.deviceId, Date.now())
    if (!next.userId) next.userId = session.userId
    await this.start(next)
    return next
  }

  #isFresh(session: LiveSession, staleAccessToken: string): boolean {
    return (
      session.accessToken !== staleAccessToken &&
      Date.now() < refreshDueAt(session, this.#options.refreshMarginMs)
    )
  }

  /**
   * We waited while another tab held the lock, so it most likely refreshed. Browsers propagate
   * localStorage writes between tab processes asynchronously and the lock can be granted before
   * the write is visible here (seen in Chromium: ~5 ms). Re-read for a bounded time before
   * refreshing ourselves with what may be a rotated-out token.
   */
  async #awaitOtherContext(session: LiveSession, staleAccessToken: string): Promise<LiveSession> {
    const deadline = Date.now() + this.#options.storageSettleMs
    let current = session
    while (!this.#isFresh(current, staleAccessToken) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20))
      current = await this.load()
    }
    return current
  }

  /** Stores a new live session (login, refresh). */
  async start(session: LiveSession): Promise<void> {
    await this.#options.storage.set(this.#options.storageKey, JSON.stringify(session))
    this.#knownSessionId = session.sessionId
  }

  /**
   * Ends `sessionId` locally: its tokens are replaced by a marker naming the reason (so other tabs
   * report the same reason), and `sessionEnded` is emitted at most once per session per client.
   * `emit: false` is for endings the app asked for itself (logout).
   */
  async end(sessionId: string, reason: string, emit = true): Promise<void> {
    const { storage, storageKey } = this.#options
    const stored = parseRecord(await storage.get(storageKey))
    if (isLive(stored) && stored.sessionId === sessionId) {
      const marker: EndedSession = { v: 1, sessionId, endedReason: reason }
      await storage.set(storageKey, JSON.stringify(marker))
    }
    if (this.#knownSessionId !== sessionId) return
    this.#knownSessionId = undefined
    if (emit) this.#options.events.emit(reason)
  }
}

const TRANSIENT_CODES: ReadonlySet<string> = new Set([
  AuthErrorCode.NETWORK_ERROR,
  AuthErrorCode.RATE_LIMITED,
  AuthErrorCode.DEPENDENCY_UNAVAILABLE,
])

function isTransient(error: unknown): boolean {
  return error instanceof AuthError && (TRANSIENT_CODES.has(error.code) || error.status >= 500)
}
