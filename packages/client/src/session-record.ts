import type { TokenPair } from '@africhain/contract'
import { decodeJwtPayload } from './jwt.ts'

/**
 * The one JSON record kept under `storageKey`. Times are epoch milliseconds on this device's clock:
 * expiry is computed from `expiresIn` when the pair arrives, so a skewed device clock does not
 * make the SDK refresh too early or too late.
 */
export type LiveSession = {
  v: 1
  accessToken: string
  refreshToken: string
  sessionId: string
  userId: string
  /** The device id the session was bound to at login; every refresh presents it. */
  deviceId: string
  issuedAt: number
  expiresAt: number
  refreshExpiresAt: number
}

/**
 * What replaces a live record when its session ends: no tokens, only which session ended and why,
 * so that other clients sharing the storage (other tabs) can report the same reason.
 */
export type EndedSession = { v: 1; sessionId: string; endedReason: string }

export type StoredSession = LiveSession | EndedSession

export function isLive(record: StoredSession | undefined): record is LiveSession {
  return record !== undefined && 'accessToken' in record
}

/** The token pair as the token service returns it from login and refresh-token (the API contract's shape). */
export type { TokenPair }

export function isTokenPair(body: unknown): body is TokenPair {
  const b = body as Partial<TokenPair> | null
  return (
    typeof b === 'object' &&
    b !== null &&
    typeof b.accessToken === 'string' &&
    typeof b.refreshToken === 'string' &&
    typeof b.sessionId === 'string' &&
    typeof b.expiresIn === 'number' &&
    Number.isFinite(b.expiresIn)
  )
}

export function recordFromPair(pair: TokenPair, deviceId: string, now: number): LiveSession {
  const claims = decodeJwtPayload(pair.accessToken)
  const refreshIn = Number.isFinite(pair.refreshExpiresIn) ? pair.refreshExpiresIn : pair.expiresIn
  return {
    v: 1,
    accessToken: pair.accessToken,
    refreshToken: pair.refreshToken,
    sessionId: pair.sessionId,
    userId: typeof claims?.['sub'] === 'string' ? claims['sub'] : '',
    deviceId,
    issuedAt: now,
    expiresAt: now + pair.expiresIn * 1000,
    refreshExpiresAt: now + refreshIn * 1000,
  }
}

/**
 * When to refresh: `marginMs` before expiry, but never earlier than half-way through the token's
 * life, so a margin longer than a (test-sized) token lifetime cannot cause a refresh on every call.
 */
export function refreshDueAt(record: LiveSession, marginMs: number): number {
  const lifetime = record.expiresAt - record.issuedAt
  return record.expiresAt - Math.min(marginMs, lifetime / 2)
}

/** Parses a stored string; anything unreadable counts as "no session" rather than an error. */
export function parseRecord(raw: string | null | undefined): StoredSession | undefined {
  if (!raw) return undefined
  try {
    const value = JSON.parse(raw) as Partial<LiveSession & EndedSession> | null
    if (value?.v !== 1 || typeof value.sessionId !== 'string') return undefined
    if (typeof value.endedReason === 'string') return value as EndedSession
    if (typeof value.accessToken === 'string' && typeof value.refreshToken === 'string') {
      return value as LiveSession
    }
  } catch {
    // fall through: corrupt JSON is treated like an absent record
  }
  return undefined
}
