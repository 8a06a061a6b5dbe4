import { createHash } from 'node:crypto'
import {
  type AuthContext,
  createAccessTokenVerifier,
  importJwks,
  readSessionState,
} from '@africhain/verifier'
import { beforeAll, describe, expect, it } from 'vitest'
import { authed, login, type Pair, refresh, register, signIn, useTestApp } from './helpers/app.ts'

// docs/security.md, "Revocation must hold": a revoked token stays revoked however it is re-spelled (padding,
// `+`/`/` alphabet, unused trailing bits that decode to the same bytes, Ed25519 S+L malleability), because
// revocation is keyed on the verified `sid`, never on the raw string. Checked on /auth/me, on introspection
// and on an analytics-style verifier. Also: refresh and access tokens never pass for one another.

const INTROSPECT_SECRET = 'reencoding-introspection-secret'
const { app, config, redis } = useTestApp('reencode', {
  env: {
    INTROSPECTION_CLIENTS: `svc:${createHash('sha256').update(INTROSPECT_SECRET).digest('hex')}`,
  },
})
let direct: (token: string) => Promise<AuthContext>
const statesAsked: string[] = []

beforeAll(async () => {
  const jwks = importJwks((await app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json())
  direct = createAccessTokenVerifier({
    issuer: config.TOKEN_ISSUER,
    audience: config.TOKEN_AUDIENCE,
    keys: { get: (kid) => jwks.get(kid), refresh: async () => {} },
    sessionState: (sid, sub) => {
      statesAsked.push(sid)
      return readSessionState(redis, sid, sub)
    },
  })
})

// ---- re-encodings --------------------------------------------------------------------------------------

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
/** Ed25519 group order: S and S + L are the same scalar, a strict verifier refuses S ≥ L. */
const ED25519_L = 2n ** 252n + 27742317777372353535851937790883648493n

/** Spellings of a base64url segment whose last character differs only in unused bits (same bytes). */
function sameBytesSpellings(segment: string): string[] {
  const bytes = Buffer.from(segment, 'base64url')
  return [...ALPHABET]
    .filter((c) => c !== segment.at(-1))
    .map((c) => segment.slice(0, -1) + c)
    .filter((v) => Buffer.from(v, 'base64url').equals(bytes))
}
const padded = (segment: string) => segment + '='.repeat((4 - (segment.length % 4)) % 4 || 1)
const standardAlphabet = (segment: string) => segment.replaceAll('-', '+').replaceAll('_', '/')

function withSPlusL(signature: string): string {
  const sig = Buffer.from(signature, 'base64url')
  let s = 0n
  for (let i = 63; i >= 32; i--) s = (s << 8n) | BigInt(sig[i]!)
  s += ED25519_L
  for (let i = 32; i < 64; i++) {
    sig[i] = Number(s & 0xffn)
    s >>= 8n
  }
  return sig.toString('base64url')
}

type Parts = [h: string, p: string, s: string]
type Variant = { name: string; make: (parts: Parts) => string; sameBytes?: boolean }
const join = (parts: string[]) => parts.join('.')

// An Ed25519 signature is 64 bytes = 86 characters: 4 unused bits in the last one, so 15 other spellings.
const SIGNATURE_SPELLINGS = 15

const variants: Variant[] = [
  { name: 'unchanged', make: join, sameBytes: true },
  { name: 'signature padded with =', make: ([h, p, s]) => join([h, p, padded(s)]), sameBytes: true },
  { name: 'signature with one stray =', make: ([h, p, s]) => join([h, p, `${s}=`]), sameBytes: true },
  { name: 'payload padded with =', make: ([h, p, s]) => join([h, padded(p), s]), sameBytes: true },
  { name: 'header padded with =', make: ([h, p, s]) => join([padded(h), p, s]), sameBytes: true },
  {
    name: 'every segment padded',
    make: ([h, p, s]) => join([padded(h), padded(p), padded(s)]),
    sameBytes: true,
  },
  {
    name: 'signature in the +/ alphabet',
    make: ([h, p, s]) => join([h, p, standardAlphabet(s)]),
    sameBytes: true,
  },
  {
    name: 'whole token in the +/ alphabet, padded',
    make: (parts) => join(parts.map((x) => padded(standardAlphabet(x)))),
    sameBytes: true,
  },
  ...Array.from({ length: SIGNATURE_SPELLINGS }, (_, i) => ({
    name: `signature trailing bits changed (${i + 1}/${SIGNATURE_SPELLINGS})`,
    make: ([h, p, s]: Parts) => join([h, p, sameBytesSpellings(s)[i]!]),
    sameBytes: true,
  })),
  {
    name: 'payload trailing bits changed',
    make: ([h, p, s]) => join([h, sameBytesSpellings(p)[0] ?? `${p}A`, s]),
  },
  {
    name: 'header trailing bits changed',
    make: ([h, p, s]) => join([sameBytesSpellings(h)[0] ?? `${h}A`, p, s]),
  },
  { name: 'Ed25519 S + L (malleated signature)', make: ([h, p, s]) => join([h, p, withSPlusL(s)]) },
  { name: 'percent-encoded dots', make: (parts) => parts.join('%2E') },
  { name: 'trailing dot', make: (parts) => `${join(parts)}.` },
]

/**
 * Logs in until the signature has a `-` or `_`, so the alphabet rows bite. (Base64 of ASCII JSON almost never
 * does: a 62/63 sextet needs a byte like `>` or `~`, so only the signature is worth re-spelling.)
 */
async function loginWithAlphabetChars(identifier: string, device: Record<string, unknown>): Promise<Pair> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const pair = await login(app, identifier, { device })
    if (/[-_]/.test(pair.accessToken.split('.')[2]!)) return pair
  }
  throw new Error('no token with - or _ in 50 logins')
}

type Revocation = { name: string; revoke: (victim: Pair, other: Pair) => Promise<void> }
const revocations: Revocation[] = [
  {
    name: 'logout',
    revoke: async (victim) => {
      expect((await authed(app, 'POST', '/auth/logout', victim.accessToken)).statusCode).toBe(204)
    },
  },
  {
    name: 'revoke-session from another device',
    revoke: async (victim, other) => {
      const res = await authed(app, 'POST', '/auth/revoke-session', other.accessToken, {
        sessionId: victim.sessionId,
      })
      expect(res.statusCode).toBe(204)
    },
  },
  {
    name: 'logout-all from another device (keepCurrent)',
    revoke: async (_victim, other) => {
      const res = await authed(app, 'POST', '/auth/logout-all', other.accessToken, { keepCurrent: true })
      expect(res.statusCode).toBe(200)
      expect(res.json().revoked).toBeGreaterThanOrEqual(1)
    },
  },
]

function introspect(token: string) {
  return app.inject({
    method: 'POST',
    url: '/auth/introspect',
    headers: { authorization: `Basic ${Buffer.from(`svc:${INTROSPECT_SECRET}`).toString('base64')}` },
    payload: { token },
  })
}

const REFUSED = ['TOKEN_REVOKED', 'TOKEN_INVALID']

describe.each(revocations)('after $name, re-encoded access tokens stay refused', ({ revoke }) => {
  let victim: Pair
  let parts: Parts
  beforeAll(async () => {
    const user = await register(app)
    victim = await loginWithAlphabetChars(user.identifier, { id: 'victim-device', platform: 'android' })
    const other = await login(app, user.identifier, { device: { id: 'other-device', platform: 'web' } })
    parts = victim.accessToken.split('.') as Parts
    expect((await authed(app, 'GET', '/auth/me', victim.accessToken)).statusCode).toBe(200)
    await revoke(victim, other)
  })

  it.each(variants)('$name', async ({ make, sameBytes }) => {
    const token = make(parts)
    if (sameBytes) {
      // The re-spelling really is the same token to a lenient base64 decoder.
      const decoded = (t: string) => t.split('.').map((x) => Buffer.from(x, 'base64url').toString('hex'))
      expect(decoded(token)).toEqual(decoded(victim.accessToken))
    }
    if (make !== join) expect(token).not.toBe(victim.accessToken)

    const me = await authed(app, 'GET', '/auth/me', token)
    expect(me.statusCode).toBe(401)
    expect(REFUSED).toContain(me.json().code)
    expect(me.headers['www-authenticate']).toBe('Bearer error="invalid_token"')
    expect(me.body).not.toContain(token)

    const sessions = await authed(app, 'GET', '/auth/sessions', token)
    expect(sessions.statusCode).toBe(401)

    const intro = await introspect(token)
    expect(intro.statusCode).toBe(200)
    expect(intro.json()).toEqual({ active: false })

    statesAsked.length = 0
    await expect(direct(token)).rejects.toSatisfy((err: { code?: string }) => REFUSED.includes(err.code!))
    // When the verifier got as far as the revocation check, it asked about the verified sid.
    for (const sid of statesAsked) expect(sid).toBe(victim.sessionId)
  })
})

describe('refresh and access tokens never pass for one another', () => {
  let pair: Pair
  beforeAll(async () => {
    pair = (await signIn(app)).pair
  })

  const refreshShapes: [string, (p: Pair) => string][] = [
    ['the refresh token', (p) => p.refreshToken],
    ['the refresh token without its rt_ prefix', (p) => p.refreshToken.slice(3)],
    ['the refresh token as h.p.s', (p) => `${p.refreshToken}.${p.refreshToken}.${p.refreshToken}`],
  ]
  it.each(refreshShapes)('%s sent as a bearer token → 401 TOKEN_INVALID', async (_name, make) => {
    const res = await authed(app, 'GET', '/auth/me', make(pair))
    expect(res.statusCode).toBe(401)
    expect(res.json().code).toBe('TOKEN_INVALID')
    expect(res.headers['www-authenticate']).toBe('Bearer error="invalid_token"')
    expect(res.body).not.toContain(pair.refreshToken.slice(3))
  })

  const accessShapes: [string, (p: Pair) => string][] = [
    ['the access token', (p) => p.accessToken],
    ['the access token behind rt_', (p) => `rt_${p.accessToken}`],
    ['the access token signature behind rt_', (p) => `rt_${p.accessToken.split('.')[2]!.slice(0, 43)}`],
  ]
  it.each(accessShapes)('%s sent to /auth/refresh-token → 401 TOKEN_INVALID', async (_name, make) => {
    const res = await refresh(app, make(pair))
    expect(res.statusCode).toBe(401)
    expect(res.json().code).toBe('TOKEN_INVALID')
    expect(res.body).not.toContain(pair.accessToken)
  })

  it('both tokens still work for their own purpose afterwards (the refusals changed nothing)', async () => {
    expect((await authed(app, 'GET', '/auth/me', pair.accessToken)).statusCode).toBe(200)
    expect((await refresh(app, pair.refreshToken)).statusCode).toBe(200)
  })
})

describe('a revoked refresh token stays refused when re-spelled', () => {
  let pair: Pair
  beforeAll(async () => {
    pair = (await signIn(app)).pair
    expect((await authed(app, 'POST', '/auth/logout', pair.accessToken)).statusCode).toBe(204)
  })

  const spellings: [string, (t: string) => string][] = [
    ['unchanged', (t) => t],
    ['padded with =', (t) => `${t}=`],
    ['in the +/ alphabet', (t) => `rt_${standardAlphabet(t.slice(3))}`],
    ['trailing bits changed', (t) => `rt_${sameBytesSpellings(t.slice(3))[0]}`],
    ['prefix upper-cased', (t) => `RT_${t.slice(3)}`],
    ['surrounded by spaces', (t) => ` ${t} `],
  ]
  it.each(spellings)('%s → 401, never a new pair', async (_name, make) => {
    const res = await refresh(app, make(pair.refreshToken))
    expect(res.statusCode).toBe(401)
    expect(['TOKEN_REVOKED', 'TOKEN_INVALID']).toContain(res.json().code)
    expect(res.body).not.toContain('rt_')
  })
})
