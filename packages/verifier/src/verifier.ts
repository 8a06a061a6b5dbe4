import type { KeyObject } from 'node:crypto'
import { ApiError, DependencyError } from '@africhain/http'
import { createVerifier, TokenError } from 'fast-jwt'
import type { KeySource } from './key-source.ts'
import type { SessionState } from './session-state.ts'

/** What a verified access token tells a route. Built field by field: nothing else from the payload leaks in. */
export type AuthContext = {
  userId: string
  sessionId: string
  roles: string[]
  jti: string
  exp: number
  iat: number
}

export type VerifierOptions = {
  issuer: string
  audience: string
  keys: KeySource
  /** Reads the hot session state (one Redis round trip). Throwing means "could not check": fail closed. */
  sessionState: (sid: string) => Promise<SessionState>
  /** What to do when the hot state has no entry (Redis lost its data). Default: 503, fail closed. */
  onUnknownSession?: (sid: string) => Promise<'active' | 'revoked'>
  clockToleranceSeconds?: number
  /** Longer tokens are refused before any decoding or crypto (default 4096 characters). */
  maxTokenLength?: number
}

const SEGMENT = /^[A-Za-z0-9_-]+$/
const ALLOWED_HEADER_FIELDS = new Set(['alg', 'typ', 'kid'])

function invalid(): ApiError {
  return new ApiError('TOKEN_INVALID')
}

function decodeHeader(segment: string): Record<string, unknown> {
  let header: unknown
  try {
    header = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'))
  } catch {
    throw invalid()
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) throw invalid()
  return header as Record<string, unknown>
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.length <= 32 && v.every((r) => typeof r === 'string' && r.length <= 64)
}

/**
 * Access-token verification, in the order that keeps forged input cheap:
 * shape and length → header allowlist (alg EdDSA, typ at+jwt, known kid; anything like jwk/jku/x5u/crit/b64
 * is refused, never followed) → signature and iss/aud/exp/nbf with fast-jwt pinned to EdDSA → claim types →
 * the session's revocation state, keyed on the verified `sid`, never on the token string.
 */
export function createAccessTokenVerifier(opts: VerifierOptions): (token: string) => Promise<AuthContext> {
  const maxLength = opts.maxTokenLength ?? 4096
  const toleranceMs = (opts.clockToleranceSeconds ?? 30) * 1000
  const byKey = new WeakMap<KeyObject, (token: string) => Record<string, unknown>>()

  function verifierFor(key: KeyObject) {
    let verify = byKey.get(key)
    if (!verify) {
      verify = createVerifier({
        key: key.export({ format: 'pem', type: 'spki' }).toString(),
        algorithms: ['EdDSA'],
        allowedIss: opts.issuer,
        allowedAud: opts.audience,
        requiredClaims: ['iss', 'aud', 'sub', 'exp', 'iat', 'jti', 'sid'],
        clockTolerance: toleranceMs,
        cache: 10_000,
        cacheTTL: 60_000,
      }) as (token: string) => Record<string, unknown>
      byKey.set(key, verify)
    }
    return verify
  }

  return async function verifyAccessToken(token: string): Promise<AuthContext> {
    if (token.length > maxLength) throw invalid()
    const parts = token.split('.')
    if (parts.length !== 3 || !parts.every((p) => SEGMENT.test(p))) throw invalid()
    const header = decodeHeader(parts[0]!)
    for (const field of Object.keys(header)) if (!ALLOWED_HEADER_FIELDS.has(field)) throw invalid()
    if (header.alg !== 'EdDSA' || header.typ !== 'at+jwt') throw invalid()
    const kid = header.kid
    if (typeof kid !== 'string' || kid.length === 0 || kid.length > 64) throw invalid()

    let key = opts.keys.get(kid)
    if (!key) {
      await opts.keys.refresh()
      key = opts.keys.get(kid)
      if (!key) throw invalid()
    }

    let payload: Record<string, unknown>
    try {
      payload = verifierFor(key)(token)
    } catch (err) {
      if (err instanceof TokenError && err.code === TokenError.codes.expired)
        throw new ApiError('TOKEN_EXPIRED')
      throw invalid()
    }
    if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) throw invalid()
    const { sub, sid, jti, exp, iat, roles } = payload
    if (typeof sub !== 'string' || typeof sid !== 'string' || typeof jti !== 'string') throw invalid()
    if (sub.length > 64 || sid.length > 64 || jti.length > 64) throw invalid()
    if (typeof exp !== 'number' || !Number.isFinite(exp) || typeof iat !== 'number' || !Number.isFinite(iat))
      throw invalid()
    if (iat * 1000 > Date.now() + toleranceMs) throw invalid()
    if (!isStringArray(roles)) throw invalid()

    let state: SessionState
    try {
      state = await opts.sessionState(sid)
    } catch (err) {
      throw new DependencyError('redis', err)
    }
    if (state === 'unknown') {
      if (!opts.onUnknownSession) throw new ApiError('DEPENDENCY_UNAVAILABLE')
      state = await opts.onUnknownSession(sid)
    }
    if (state === 'revoked') throw new ApiError('TOKEN_REVOKED')
    return { userId: sub, sessionId: sid, roles: [...roles], jti, exp, iat }
  }
}
