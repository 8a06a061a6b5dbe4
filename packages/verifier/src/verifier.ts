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
  /**
   * Reads the hot session state of `sid` for a token of `sub` (one Redis round trip). Throwing means
   * "could not check": fail closed.
   */
  sessionState: (sid: string, sub: string) => Promise<SessionState>
  /**
   * What to do when the hot state cannot be trusted: no entry (Redis lost its data), or an "active" read
   * while Redis refuses writes (`hotStateTrusted` false). Default: 503, fail closed.
   */
  onUnknownSession?: (sid: string, sub: string) => Promise<Exclude<SessionState, 'unknown'>>
  /** False while Redis refuses writes (see WriteProbe): an "active" there may miss a recent revocation. */
  hotStateTrusted?: () => boolean
  clockToleranceSeconds?: number
  /** Longer tokens are refused before any decoding or crypto (default 4096 characters). */
  maxTokenLength?: number
}

const SEGMENT = /^[A-Za-z0-9_-]+$/
const ALLOWED_HEADER_FIELDS = new Set(['alg', 'typ', 'kid'])

function invalid(): ApiError {
  return new ApiError('TOKEN_INVALID')
}

// `fatal`: invalid UTF-8 throws instead of turning into U+FFFD (RFC 7519 §7.2 step 10 requires valid UTF-8).
const utf8 = new TextDecoder('utf-8', { fatal: true })

/**
 * A header or payload segment as a JSON object. Refuses invalid UTF-8 and repeated member names: JSON.parse
 * would keep the last of two `sub`s silently, and a token must mean one thing to every parser.
 */
function decodeObject(segment: string): Record<string, unknown> {
  let text: string
  let value: unknown
  try {
    text = utf8.decode(Buffer.from(segment, 'base64url'))
    value = JSON.parse(text)
  } catch {
    throw invalid()
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalid()
  if (hasRepeatedMemberName(text)) throw invalid()
  return value as Record<string, unknown>
}

/** Whether the top-level object of `json` (text JSON.parse accepted) names a member twice. */
function hasRepeatedMemberName(json: string): boolean {
  const names = new Set<string>()
  let depth = 0
  for (let i = 0; i < json.length; i++) {
    const c = json[i]
    if (c === '{' || c === '[') depth++
    else if (c === '}' || c === ']') depth--
    else if (c === '"') {
      let end = i + 1
      while (json[end] !== '"') end += json[end] === '\\' ? 2 : 1
      let next = end + 1
      while (json[next] === ' ' || json[next] === '\t' || json[next] === '\n' || json[next] === '\r') next++
      // At depth 1 a string followed by ':' is a member name of the top-level object; decode its escapes.
      if (depth === 1 && json[next] === ':') {
        const name = JSON.parse(json.slice(i, end + 1)) as string
        if (names.has(name)) return true
        names.add(name)
      }
      i = end
    }
  }
  return false
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.length <= 32 && v.every((r) => typeof r === 'string' && r.length <= 64)
}

/**
 * Access-token verification, in the order that keeps forged input cheap:
 * shape and length → header allowlist (alg EdDSA, typ at+jwt, known kid; anything like jwk/jku/x5u/crit/b64
 * is refused, never followed) → payload strictly decoded (valid UTF-8, one JSON object, no repeated names) →
 * signature and iss/aud/exp/nbf with fast-jwt pinned to EdDSA → claim types → the session's revocation
 * state, keyed on the verified `sid`, never on the token string.
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

  /** Signature, header and claims: everything that does not change while the token lives. */
  async function verifyStatelessly(token: string): Promise<{ auth: AuthContext; kid: string }> {
    if (token.length > maxLength) throw invalid()
    const parts = token.split('.')
    if (parts.length !== 3 || !parts.every((p) => SEGMENT.test(p))) throw invalid()
    const header = decodeObject(parts[0]!)
    for (const field of Object.keys(header)) if (!ALLOWED_HEADER_FIELDS.has(field)) throw invalid()
    if (header.alg !== 'EdDSA' || header.typ !== 'at+jwt') throw invalid()
    const kid = header.kid
    if (typeof kid !== 'string' || kid.length === 0 || kid.length > 64) throw invalid()
    decodeObject(parts[1]!) // fast-jwt parses it again, leniently: this is the strict check

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
    return { auth: { userId: sub, sessionId: sid, roles: [...roles], jti, exp, iat }, kid }
  }

  // Tokens that passed every stateless check, by their exact string (a re-encoded variant is another string
  // and takes the full path). An entry lives until the token's exp, at most a minute, and only while its key
  // is still published. The revocation check below runs on every request, cached or not.
  const verified = new Map<string, { auth: AuthContext; kid: string; until: number }>()
  const CACHE_SIZE = 10_000

  return async function verifyAccessToken(token: string): Promise<AuthContext> {
    const now = Date.now()
    let entry = verified.get(token)
    if (!entry || entry.until <= now || !opts.keys.get(entry.kid)) {
      const { auth, kid } = await verifyStatelessly(token)
      entry = { auth, kid, until: Math.min(auth.exp * 1000 + toleranceMs, now + 60_000) }
      if (verified.size >= CACHE_SIZE) verified.delete(verified.keys().next().value!)
      verified.set(token, entry)
    }
    const { auth } = entry
    const sid = auth.sessionId

    let state: SessionState
    try {
      state = await opts.sessionState(sid, auth.userId)
    } catch (err) {
      throw new DependencyError('redis', err)
    }
    // A tombstone is always right (revocation is final); anything else needs a Redis that takes writes.
    if (state === 'unknown' || (state !== 'revoked' && opts.hotStateTrusted?.() === false)) {
      if (!opts.onUnknownSession) throw new ApiError('DEPENDENCY_UNAVAILABLE')
      state = await opts.onUnknownSession(sid, auth.userId)
    }
    if (state === 'revoked') throw new ApiError('TOKEN_REVOKED')
    // A token whose `sub` does not own the session it names: never ride another user's session.
    if (state === 'foreign') throw invalid()
    return { ...auth, roles: [...auth.roles] }
  }
}
