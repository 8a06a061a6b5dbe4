import {
  constants,
  createHmac,
  createPrivateKey,
  createPublicKey,
  sign as cryptoSign,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto'
import { createServer, request as httpRequest, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  type AuthContext,
  createAccessTokenVerifier,
  importJwks,
  readSessionState,
} from '@africhain/verifier'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { signIn, useTestApp } from './helpers/app.ts'

// docs/security.md, "Forged and malformed access tokens → 401 TOKEN_INVALID, never 500". Every row builds one
// token and sends it both to GET /auth/me and to an analytics-style verifier (JWKS keys, Redis state, no
// MySQL fallback). Rows signed with the app's real private key isolate the one defect they carry: the
// controls at the end prove those same helpers produce tokens the service accepts.

const { app, config, redis } = useTestApp('forged')
const LEEWAY = 30 // the verifier's default clock tolerance, in seconds
let outbound: Server
let outboundUrl: string
const outboundRequests: string[] = []

type Claims = Record<string, unknown>
type Ctx = {
  token: string
  h: string
  p: string
  s: string
  header: Claims
  claims: Claims
  other: { token: string; claims: Claims }
  privateKey: KeyObject
  jwk: Record<string, string>
  spkiPem: string
  attacker: { privateKey: KeyObject; jwk: Record<string, string> }
}
let ctx: Ctx
let direct: (token: string) => Promise<AuthContext>
const lookups = { get: 0, refresh: 0, state: 0 }

// ---- JWS building blocks -------------------------------------------------------------------------------

const b64u = (v: string | Uint8Array) => Buffer.from(v).toString('base64url')
const seg = (v: unknown) => b64u(JSON.stringify(v))
const nowSec = () => Math.floor(Date.now() / 1000)
type Signer = (input: Buffer) => Buffer

function compact(headerSeg: string, payloadSeg: string, sign: Signer): string {
  return `${headerSeg}.${payloadSeg}.${b64u(sign(Buffer.from(`${headerSeg}.${payloadSeg}`)))}`
}
const ed =
  (key: KeyObject): Signer =>
  (input) =>
    cryptoSign(null, input, key)
const hmac =
  (hash: 'sha256' | 'sha512', secret: string | Buffer): Signer =>
  (input) =>
    createHmac(hash, secret).update(input).digest()

/** Drops keys whose value is undefined, so `{ exp: undefined }` means "no exp". */
function merge(base: Claims, overrides: Claims): Claims {
  const out: Claims = { ...base, ...overrides }
  for (const [k, v] of Object.entries(out)) if (v === undefined) delete out[k]
  return out
}
const header = (overrides: Claims = {}) => merge(ctx.header, overrides)
const claims = (overrides: Claims = {}) => merge(ctx.claims, overrides)

/** Signed with the app's real key: header overrides, and a payload given as claims or as raw JSON bytes. */
function realSigned(payload: Claims | string | Buffer, headerOverrides: Claims = {}): string {
  const p = typeof payload === 'string' || Buffer.isBuffer(payload) ? b64u(payload) : seg(payload)
  return compact(seg(header(headerOverrides)), p, ed(ctx.privateKey))
}
/** Raw claims JSON with one hand-written fragment appended (duplicates, NaN, …): `{…claims, <extra>}`. */
const rawClaims = (extra: string, base: Claims = ctx.claims) =>
  `${JSON.stringify(base).slice(0, -1)},${extra}}`
/** The real token's payload replaced, its signature kept. */
const tampered = (overrides: Claims) => `${ctx.h}.${seg(claims(overrides))}.${ctx.s}`

// ---- the table ---------------------------------------------------------------------------------------

type Expect = 'TOKEN_INVALID' | 'TOKEN_EXPIRED' | 'NO_POLLUTION'
type Row = { name: string; make: () => string; expect?: Expect }

const algNone: Row[] = ['none', 'None', 'NONE', 'nOnE'].flatMap((alg) => [
  { name: `alg ${alg}, empty signature`, make: () => `${seg(header({ alg }))}.${ctx.p}.` },
  { name: `alg ${alg}, original signature kept`, make: () => `${seg(header({ alg }))}.${ctx.p}.${ctx.s}` },
])

const signatureShape: Row[] = [
  { name: 'signature stripped (h.p.)', make: () => `${ctx.h}.${ctx.p}.` },
  { name: 'signature segment missing (h.p)', make: () => `${ctx.h}.${ctx.p}` },
  { name: 'signature truncated by one character', make: () => `${ctx.h}.${ctx.p}.${ctx.s.slice(0, -1)}` },
  { name: 'signature truncated to half', make: () => `${ctx.h}.${ctx.p}.${ctx.s.slice(0, 43)}` },
  {
    name: 'signature of another valid token',
    make: () => `${ctx.h}.${ctx.p}.${ctx.other.token.split('.')[2]}`,
  },
  { name: 'empty bearer value', make: () => '' },
  { name: 'garbage', make: () => 'not-a-jwt' },
  { name: 'header not JSON', make: () => `${b64u('{alg:EdDSA')}.${ctx.p}.${ctx.s}` },
  { name: 'header is an array', make: () => compact(seg([ctx.header]), ctx.p, ed(ctx.privateKey)) },
]

/** HS256 keyed with the public key in every form a confused verifier might feed to HMAC. */
const publicKeyForms: [string, () => string | Buffer][] = [
  ['PEM', () => ctx.spkiPem],
  ['PEM with leading whitespace', () => `\n   \t${ctx.spkiPem}`],
  ['PEM with leading junk', () => `junk${ctx.spkiPem}`],
  ['PEM without trailing newline', () => ctx.spkiPem.trimEnd()],
  ['raw JWK JSON (JWKS entry)', () => JSON.stringify(ctx.jwk)],
  ['raw JWK JSON (kty, crv, x)', () => JSON.stringify({ kty: 'OKP', crv: 'Ed25519', x: ctx.jwk.x })],
  ['raw key bytes', () => Buffer.from(ctx.jwk.x!, 'base64url')],
  ['raw key as its base64url text', () => ctx.jwk.x!],
  ['DER SubjectPublicKeyInfo', () => createPublicKey(ctx.spkiPem).export({ type: 'spki', format: 'der' })],
]
const algConfusion: Row[] = publicKeyForms.map(([form, secret]) => ({
  name: `HS256 signed with the public key as secret: ${form}`,
  make: () => compact(seg(header({ alg: 'HS256' })), ctx.p, hmac('sha256', secret())),
}))

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })
const otherAlgs: Row[] = [
  {
    name: 'RS256 (own RSA key)',
    make: () => compact(seg(header({ alg: 'RS256' })), ctx.p, (i) => cryptoSign('sha256', i, rsa.privateKey)),
  },
  {
    name: 'PS256 (own RSA key)',
    make: () =>
      compact(seg(header({ alg: 'PS256' })), ctx.p, (i) =>
        cryptoSign('sha256', i, {
          key: rsa.privateKey,
          padding: constants.RSA_PKCS1_PSS_PADDING,
          saltLength: 32,
        }),
      ),
  },
  {
    name: 'ES256 (own P-256 key)',
    make: () =>
      compact(seg(header({ alg: 'ES256' })), ctx.p, (i) =>
        cryptoSign('sha256', i, { key: ec.privateKey, dsaEncoding: 'ieee-p1363' }),
      ),
  },
  {
    name: 'HS512 with the public PEM',
    make: () => compact(seg(header({ alg: 'HS512' })), ctx.p, hmac('sha512', ctx.spkiPem)),
  },
  { name: 'alg eddsa (wrong case), real key', make: () => realSigned(ctx.claims, { alg: 'eddsa' }) },
  { name: 'alg Ed25519 (fully specified), real key', make: () => realSigned(ctx.claims, { alg: 'Ed25519' }) },
  { name: 'alg missing, real key', make: () => realSigned(ctx.claims, { alg: undefined }) },
]

const kids: [string, unknown][] = [
  ['unknown', 'no-such-key'],
  ['empty', ''],
  ['path traversal', '../../dev/null'],
  ['SQL injection', "x' OR '1'='1' -- "],
  ['SQL injection (stacked)', 'x; DROP TABLE signing_keys; --'],
  ['Redis key injection', 'sess:{x}'],
  ['Redis glob', '*'],
  ['__proto__', '__proto__'],
  ['constructor', 'constructor'],
  ['a number', 1],
  ['null', null],
  ['missing', undefined],
  ['10 KB long', 'k'.repeat(10_240)],
]
const kidRows: Row[] = kids.map(([what, kid]) => ({
  name: `kid ${what}`,
  make: () => realSigned(ctx.claims, { kid }),
}))

/** Key-carrying headers, signed by the attacker's own key (the real attack) and by the real key. */
const keyHeaders: Row[] = [
  {
    name: 'jwk header with the attacker key, attacker-signed',
    make: () =>
      compact(
        seg(header({ jwk: ctx.attacker.jwk, kid: ctx.attacker.jwk.kid })),
        ctx.p,
        ed(ctx.attacker.privateKey),
      ),
  },
  {
    name: 'jku header pointing at the attacker JWKS, attacker-signed',
    make: () =>
      compact(
        seg(header({ jku: `${outboundUrl}/jwks.json`, kid: ctx.attacker.jwk.kid })),
        ctx.p,
        ed(ctx.attacker.privateKey),
      ),
  },
  {
    name: 'x5u header, attacker-signed',
    make: () => compact(seg(header({ x5u: `${outboundUrl}/cert.pem` })), ctx.p, ed(ctx.attacker.privateKey)),
  },
  {
    name: 'x5c header with the attacker key, attacker-signed',
    make: () =>
      compact(
        seg(
          header({
            x5c: [b64u(createPublicKey(ctx.attacker.privateKey).export({ type: 'spki', format: 'der' }))],
          }),
        ),
        ctx.p,
        ed(ctx.attacker.privateKey),
      ),
  },
  { name: 'jwk header, real key', make: () => realSigned(ctx.claims, { jwk: ctx.jwk }) },
  { name: 'jku header, real key', make: () => realSigned(ctx.claims, { jku: `${outboundUrl}/jwks.json` }) },
  { name: 'x5u header, real key', make: () => realSigned(ctx.claims, { x5u: `${outboundUrl}/cert.pem` }) },
]

const critB64Jwe: Row[] = [
  {
    name: 'unknown crit extension',
    make: () => realSigned(ctx.claims, { crit: ['x-africhain-unknown'], 'x-africhain-unknown': true }),
  },
  { name: 'crit listing a registered header', make: () => realSigned(ctx.claims, { crit: ['exp'] }) },
  {
    name: 'b64 false, unencoded payload in the token',
    make: () => {
      const h = seg(header({ b64: false, crit: ['b64'] }))
      const raw = JSON.stringify(ctx.claims)
      return `${h}.${raw}.${b64u(cryptoSign(null, Buffer.from(`${h}.${raw}`), ctx.privateKey))}`
    },
  },
  {
    name: 'b64 false, signature over the unencoded payload',
    make: () => {
      const h = seg(header({ b64: false, crit: ['b64'] }))
      const raw = JSON.stringify(ctx.claims)
      return `${h}.${b64u(raw)}.${b64u(cryptoSign(null, Buffer.from(`${h}.${raw}`), ctx.privateKey))}`
    },
  },
  {
    name: 'five segments (JWE, RSA-OAEP)',
    make: () =>
      [
        seg({ alg: 'RSA-OAEP', enc: 'A256GCM', kid: ctx.header.kid }),
        b64u('k'.repeat(256)),
        b64u('iv'),
        ctx.p,
        b64u('tag'),
      ].join('.'),
  },
  {
    name: 'five segments (JWE, dir)',
    make: () => [seg({ alg: 'dir', enc: 'A128CBC-HS256' }), '', b64u('iv'), ctx.p, b64u('tag')].join('.'),
  },
  { name: 'valid token plus two segments', make: () => `${ctx.token}.${ctx.p}.${ctx.s}` },
  { name: 'four segments', make: () => `${ctx.h}.${ctx.p}.${ctx.p}.${ctx.s}` },
]

const payloadShapes: Row[] = [
  { name: 'payload is an array', make: () => realSigned(JSON.stringify([ctx.claims])) },
  { name: 'payload is a number', make: () => realSigned('42') },
  { name: 'payload is a string', make: () => realSigned(JSON.stringify(ctx.claims.sub)) },
  { name: 'payload is null', make: () => realSigned('null') },
  { name: 'payload is true', make: () => realSigned('true') },
  { name: 'payload is an empty object', make: () => realSigned('{}') },
  { name: 'payload is not JSON', make: () => realSigned('{sub:') },
  // RFC 7519 §4 allows "last one wins"; docs/security.md asks for a refusal.
  {
    name: 'duplicate sub (victim, then other user)',
    make: () => realSigned(rawClaims(`"sub":${JSON.stringify(ctx.other.claims.sub)}`)),
  },
  {
    name: 'duplicate sub spelled with a \\u escape',
    make: () => realSigned(rawClaims(`"s\\u0075b":${JSON.stringify(ctx.other.claims.sub)}`)),
  },
  {
    name: 'duplicate roles (user, then admin)',
    make: () => realSigned(rawClaims('"roles":["admin"]')),
  },
  {
    name: 'duplicate sid (other session, then victim)',
    make: () =>
      realSigned(
        `${JSON.stringify(claims({ sid: ctx.other.claims.sid })).slice(0, -1)},"sid":${JSON.stringify(ctx.claims.sid)}}`,
      ),
  },
  {
    name: 'invalid UTF-8 in a claim (lone 0xFF)',
    make: () => realSigned(utf8Spliced('sub', Buffer.from([0xff]))),
  },
  {
    name: 'invalid UTF-8 in a claim (overlong "/" 0xC0 0xAF)',
    make: () => realSigned(utf8Spliced('sub', Buffer.from([0xc0, 0xaf]))),
  },
  {
    name: 'invalid UTF-8 in a claim (CESU surrogate 0xED 0xA0 0x80)',
    make: () => realSigned(utf8Spliced('jti', Buffer.from([0xed, 0xa0, 0x80]))),
  },
  {
    name: 'invalid UTF-8 in the header',
    make: () => {
      const h = Buffer.concat([
        Buffer.from(JSON.stringify(ctx.header).slice(0, -1)),
        Buffer.from(',"x":"\xff"}', 'latin1'),
      ])
      return compact(b64u(h), ctx.p, ed(ctx.privateKey))
    },
  },
]

/** The claims JSON with raw bytes inserted at the start of one string claim's value. */
function utf8Spliced(claim: string, bytes: Buffer): Buffer {
  const json = JSON.stringify(ctx.claims)
  const marker = `"${claim}":"`
  const at = json.indexOf(marker) + marker.length
  return Buffer.concat([Buffer.from(json.slice(0, at)), bytes, Buffer.from(json.slice(at))])
}

const pollution: Row[] = [
  {
    name: '__proto__ claim, real key',
    expect: 'NO_POLLUTION',
    make: () => realSigned(rawClaims('"__proto__":{"polluted":"yes","roles":["admin"],"userId":"evil"}')),
  },
  {
    name: '__proto__ claim carrying roles (none of its own), real key',
    expect: 'NO_POLLUTION',
    make: () =>
      realSigned(rawClaims('"__proto__":{"polluted":"yes","roles":["admin"]}', claims({ roles: undefined }))),
  },
  {
    name: 'constructor.prototype claim, real key',
    expect: 'NO_POLLUTION',
    make: () => realSigned(rawClaims('"constructor":{"prototype":{"polluted":"yes","roles":["admin"]}}')),
  },
  {
    name: '__proto__ claim, forged signature',
    make: () => `${ctx.h}.${b64u(rawClaims('"__proto__":{"polluted":"yes"}'))}.${ctx.s}`,
  },
]

const timeAndAudience: Row[] = [
  { name: 'exp missing', make: () => realSigned(claims({ exp: undefined })) },
  { name: 'exp a string', make: () => realSigned(claims({ exp: String(nowSec() + 600) })) },
  {
    name: 'exp NaN (hand-written)',
    make: () => realSigned(rawClaims('"exp":NaN', claims({ exp: undefined }))),
  },
  {
    name: 'exp Infinity (1e999)',
    make: () => realSigned(rawClaims('"exp":1e999', claims({ exp: undefined }))),
  },
  { name: 'exp null', make: () => realSigned(claims({ exp: null })) },
  {
    name: 'exp in the past, just beyond the leeway',
    expect: 'TOKEN_EXPIRED',
    make: () => realSigned(claims({ exp: nowSec() - LEEWAY - 1, iat: nowSec() - 900 })),
  },
  { name: 'exp 0', expect: 'TOKEN_EXPIRED', make: () => realSigned(claims({ exp: 0 })) },
  {
    name: 'nbf in the future beyond the leeway',
    make: () => realSigned(claims({ nbf: nowSec() + LEEWAY + 5 })),
  },
  { name: 'nbf a string', make: () => realSigned(claims({ nbf: String(nowSec()) })) },
  {
    name: 'iat in the future beyond the leeway',
    make: () => realSigned(claims({ iat: nowSec() + LEEWAY + 5 })),
  },
  { name: 'iat missing', make: () => realSigned(claims({ iat: undefined })) },
  { name: 'iat a string', make: () => realSigned(claims({ iat: String(nowSec()) })) },
  { name: 'iss wrong', make: () => realSigned(claims({ iss: 'https://evil.example' })) },
  {
    name: 'iss as an array holding the right issuer',
    make: () => realSigned(claims({ iss: [config.TOKEN_ISSUER] })),
  },
  { name: 'iss as an array holding a wrong issuer', make: () => realSigned(claims({ iss: ['evil'] })) },
  { name: 'iss missing', make: () => realSigned(claims({ iss: undefined })) },
  { name: 'aud wrong', make: () => realSigned(claims({ aud: 'analytics-elsewhere' })) },
  { name: 'aud array without ours', make: () => realSigned(claims({ aud: ['other', 'another'] })) },
  { name: 'aud missing', make: () => realSigned(claims({ aud: undefined })) },
  { name: 'typ missing', make: () => realSigned(ctx.claims, { typ: undefined }) },
  { name: 'typ JWT', make: () => realSigned(ctx.claims, { typ: 'JWT' }) },
  { name: 'sub missing', make: () => realSigned(claims({ sub: undefined })) },
  { name: 'sid missing', make: () => realSigned(claims({ sid: undefined })) },
  { name: 'jti missing', make: () => realSigned(claims({ jti: undefined })) },
  { name: 'roles a string', make: () => realSigned(claims({ roles: 'admin' })) },
  { name: 'roles with a number', make: () => realSigned(claims({ roles: [1] })) },
]

const tamperedRows: Row[] = [
  { name: 'tampered: role escalation to admin', make: () => tampered({ roles: ['admin'] }) },
  { name: 'tampered: other sub', make: () => tampered({ sub: ctx.other.claims.sub }) },
  { name: 'tampered: other sid', make: () => tampered({ sid: ctx.other.claims.sid }) },
  { name: 'tampered: exp extended', make: () => tampered({ exp: nowSec() + 86_400 }) },
]

const oversized: Row[] = [
  {
    name: '8 KB token (real key, padding claim)',
    make: () => realSigned(claims({ pad: 'x'.repeat(8 * 1024) })),
  },
  { name: '8 KB of base64url', make: () => `${ctx.h}.${'A'.repeat(8 * 1024)}.${ctx.s}` },
  { name: '64 KB token', make: () => `${ctx.h}.${'A'.repeat(64 * 1024)}.${ctx.s}` },
]

const rows: Row[] = [
  ...algNone,
  ...signatureShape,
  ...algConfusion,
  ...otherAlgs,
  ...kidRows,
  ...keyHeaders,
  ...critB64Jwe,
  ...payloadShapes,
  ...pollution,
  ...timeAndAudience,
  ...tamperedRows,
  ...oversized,
]

// ---- setup -------------------------------------------------------------------------------------------

function decodeSeg(s: string): Claims {
  return JSON.parse(Buffer.from(s, 'base64url').toString('utf8'))
}

beforeAll(async () => {
  outbound = createServer((req, res) => {
    outboundRequests.push(`${req.method} ${req.url}`)
    res.end('{"keys":[]}')
  })
  await new Promise<void>((resolve) => outbound.listen(0, '127.0.0.1', resolve))
  outboundUrl = `http://127.0.0.1:${(outbound.address() as AddressInfo).port}`

  const victim = await signIn(app)
  const other = await signIn(app, { device: { id: 'device-2', platform: 'web' } })
  const [h, p, s] = victim.pair.accessToken.split('.') as [string, string, string]
  const hdr = decodeSeg(h)

  // The app's private key, as an attacker who read the database would have it (stored `pem:` in clear
  // when KEY_ENCRYPTION_SECRET is unset).
  const row = await app.db
    .selectFrom('signing_keys')
    .select(['private_key'])
    .where('kid', '=', hdr.kid as string)
    .executeTakeFirstOrThrow()
  expect(row.private_key.startsWith('pem:')).toBe(true)
  const jwks = (await app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json()
  const jwk = jwks.keys.find((k: { kid: string }) => k.kid === hdr.kid)

  const attackerPair = generateKeyPairSync('ed25519')
  ctx = {
    token: victim.pair.accessToken,
    h,
    p,
    s,
    header: hdr,
    claims: decodeSeg(p),
    other: { token: other.pair.accessToken, claims: decodeSeg(other.pair.accessToken.split('.')[1]!) },
    privateKey: createPrivateKey(row.private_key.slice(4)),
    jwk,
    spkiPem: createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString(),
    attacker: {
      privateKey: attackerPair.privateKey,
      jwk: {
        ...(attackerPair.publicKey.export({ format: 'jwk' }) as Record<string, string>),
        kid: 'attacker',
        alg: 'EdDSA',
      },
    },
  }

  // The analytics-style verifier: keys from the JWKS document, state from Redis, fail closed on a miss.
  const keySet = importJwks(jwks)
  direct = createAccessTokenVerifier({
    issuer: config.TOKEN_ISSUER,
    audience: config.TOKEN_AUDIENCE,
    keys: {
      get: (kid) => {
        lookups.get++
        return keySet.get(kid)
      },
      refresh: async () => {
        lookups.refresh++
      },
    },
    sessionState: (sid, sub) => {
      lookups.state++
      return readSessionState(redis, sid, sub)
    },
  })
})

afterAll(async () => {
  await new Promise((resolve) => outbound?.close(resolve))
})

function me(token: string) {
  return app.inject({ method: 'GET', url: '/auth/me', headers: { authorization: `Bearer ${token}` } })
}

async function expectRefused(token: string, code: 'TOKEN_INVALID' | 'TOKEN_EXPIRED') {
  const res = await me(token)
  expect(res.statusCode).toBe(401)
  const body = res.json()
  expect(Object.keys(body).sort()).toEqual(['code', 'error', 'message', 'statusCode'])
  expect(body).toMatchObject({ statusCode: 401, code, error: 'Unauthorized' })
  expect(res.headers['www-authenticate']).toBe('Bearer error="invalid_token"')
  expect(body.message).not.toMatch(/eyJ/)
  if (token.length > 0) expect(res.body).not.toContain(token)
  await expect(direct(token)).rejects.toMatchObject({ code, statusCode: 401 })
}

async function expectNoPollution(token: string) {
  const res = await me(token)
  expect([200, 401]).toContain(res.statusCode)
  if (res.statusCode === 200) {
    expect(res.json()).toEqual({ userId: ctx.claims.sub, sessionId: ctx.claims.sid, roles: ['user'] })
  } else {
    expect(res.json().code).toBe('TOKEN_INVALID')
  }
  const auth = await direct(token).catch((err: { code?: string }) => err)
  if ('userId' in auth) {
    expect(Object.keys(auth).sort()).toEqual(['exp', 'iat', 'jti', 'roles', 'sessionId', 'userId'])
    expect(auth.roles).toEqual(['user'])
  } else {
    expect(auth.code).toBe('TOKEN_INVALID')
  }
  expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  expect(Object.hasOwn(Object.prototype, 'polluted')).toBe(false)
  expect(Object.hasOwn(Object.prototype, 'roles')).toBe(false)
}

// ---- tests -------------------------------------------------------------------------------------------

describe('forged and malformed access tokens', () => {
  it.each(rows)('$name', async ({ make, expect: want = 'TOKEN_INVALID' }) => {
    const token = make()
    if (want === 'NO_POLLUTION') await expectNoPollution(token)
    else await expectRefused(token, want)
  })

  it('never made an outbound request for jku, x5u or any other header', () => {
    expect(outboundRequests).toEqual([])
  })

  it('kid injections left the key table and Redis untouched', async () => {
    const keys = await app.db.selectFrom('signing_keys').select('kid').execute()
    expect(keys.map((k) => k.kid)).toContain(ctx.header.kid)
    expect(await redis.exists('sess:{x}')).toBe(0)
  })

  it('refuses oversized tokens before any key lookup or session read', async () => {
    const before = { ...lookups }
    for (const size of [4097, 8 * 1024, 64 * 1024]) {
      await expect(direct(realSigned(claims({ pad: 'x'.repeat(size) })))).rejects.toMatchObject({
        code: 'TOKEN_INVALID',
      })
    }
    expect(lookups).toEqual(before)
  })
})

describe('oversized Authorization headers over real HTTP', () => {
  let port: number
  beforeAll(async () => {
    await app.listen({ port: 0, host: '127.0.0.1' })
    port = (app.server.address() as AddressInfo).port
  })

  function get(authorization: string): Promise<{ status: number | 'reset'; ms: number; body: string }> {
    const started = performance.now()
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port,
          path: '/auth/me',
          method: 'GET',
          headers: { authorization },
          agent: false,
        },
        (res) => {
          let body = ''
          res.setEncoding('utf8')
          res.on('data', (chunk) => {
            body += chunk
          })
          res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - started, body }))
        },
      )
      req.on('error', (err: NodeJS.ErrnoException) => {
        // The server may close the socket while a huge header is still being written.
        if (err.code === 'ECONNRESET' || err.code === 'EPIPE')
          resolve({ status: 'reset', ms: performance.now() - started, body: '' })
        else reject(err)
      })
      req.end()
    })
  }

  it('an 8 KB bearer token answers 401 TOKEN_INVALID', async () => {
    const token = realSigned(claims({ pad: 'x'.repeat(8 * 1024) }))
    const res = await get(`Bearer ${token}`)
    expect(res.status).toBe(401)
    expect(JSON.parse(res.body).code).toBe('TOKEN_INVALID')
    expect(res.body).not.toContain(token)
  })

  it('a 64 KB bearer header is refused at the HTTP layer (431, contract body) before any parsing or crypto', async () => {
    const res = await get(`Bearer ${ctx.h}.${'A'.repeat(64 * 1024)}.${ctx.s}`)
    expect([431, 'reset']).toContain(res.status)
    if (res.status === 431) {
      expect(JSON.parse(res.body)).toEqual({
        statusCode: 431,
        code: 'HEADERS_TOO_LARGE',
        error: 'Request Header Fields Too Large',
        message: 'request headers are too large',
      })
    }
    // The server is still healthy afterwards.
    expect((await get(`Bearer ${ctx.token}`)).status).toBe(200)
  })
})

describe('controls: the forging helpers make tokens the service accepts', () => {
  const accepted: [string, () => string][] = [
    ['the original token', () => ctx.token],
    ['re-signed with the real key, same claims', () => realSigned(ctx.claims)],
    ['exp just inside the leeway', () => realSigned(claims({ exp: nowSec() - LEEWAY + 5 }))],
    ['nbf just inside the leeway', () => realSigned(claims({ nbf: nowSec() + LEEWAY - 5 }))],
    ['iat just inside the leeway', () => realSigned(claims({ iat: nowSec() + LEEWAY - 5 }))],
    ['aud as an array holding ours', () => realSigned(claims({ aud: [config.TOKEN_AUDIENCE, 'other'] }))],
  ]
  it.each(accepted)('%s → 200', async (_name, make) => {
    const res = await me(make())
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({ userId: ctx.claims.sub, sessionId: ctx.claims.sid, roles: ['user'] })
    await expect(direct(make())).resolves.toMatchObject({ userId: ctx.claims.sub })
  })
})
