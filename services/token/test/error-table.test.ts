import { createPrivateKey, sign as cryptoSign, randomBytes } from 'node:crypto'
import { sql } from 'kysely'
import { describe, expect, it } from 'vitest'
import {
  authed,
  login,
  PASSWORD,
  refresh,
  register,
  signIn,
  uniqueEmail,
  uniquePhone,
  useTestApp,
} from './helpers/app.ts'

// docs/api.md's error table, one request per row: status, code, the exact body shape, and the headers the
// contract promises (WWW-Authenticate on bearer 401s, Retry-After on 429s). DEPENDENCY_UNAVAILABLE lives in
// the fault tests. Login is rate-limited to 3 a minute per IP here, so every other login uses its own IP.

const { app } = useTestApp('errors', { env: { RATE_LIMIT_LOGIN: '3/1m' } })
type Response = Awaited<ReturnType<typeof authed>>

let ipCounter = 0
const nextIp = () => `10.77.${Math.floor(++ipCounter / 250)}.${(ipCounter % 250) + 1}`
const device = { id: 'device-1', platform: 'android' }
const user = () => signIn(app, { ip: nextIp(), device })

function post(url: string, payload: unknown, extra: { ip?: string; headers?: Record<string, string> } = {}) {
  return app.inject({
    method: 'POST',
    url,
    remoteAddress: extra.ip ?? nextIp(),
    ...(extra.headers ? { headers: extra.headers } : {}),
    ...(typeof payload === 'string' ? { payload } : { payload: payload as Record<string, unknown> }),
  })
}
const loginAttempt = (identifier: string, password: string, ip = nextIp()) =>
  post('/auth/login', { identifier, password, device }, { ip })

/** An access token for a live session with `exp` already past the verifier's 30 s leeway. */
async function expiredAccessToken(): Promise<string> {
  const { pair } = await user()
  const [h, p] = pair.accessToken.split('.') as [string, string]
  const { kid } = JSON.parse(Buffer.from(h, 'base64url').toString())
  const row = await app.db
    .selectFrom('signing_keys')
    .select('private_key')
    .where('kid', '=', kid)
    .executeTakeFirstOrThrow()
  const now = Math.floor(Date.now() / 1000)
  const claims = { ...JSON.parse(Buffer.from(p, 'base64url').toString()), iat: now - 960, exp: now - 60 }
  const payload = Buffer.from(JSON.stringify(claims)).toString('base64url')
  const signature = cryptoSign(
    null,
    Buffer.from(`${h}.${payload}`),
    createPrivateKey(row.private_key.slice(4)),
  )
  return `${h}.${payload}.${signature.toString('base64url')}`
}

type Row = {
  name: string
  status: number
  code: string
  run: () => Promise<Response>
  /** Bearer-protected route answering 401: WWW-Authenticate is promised. */
  bearer?: boolean
  retryAfter?: boolean
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Payload Too Large',
  429: 'Too Many Requests',
}

const rows: Row[] = [
  // 400 VALIDATION_FAILED
  {
    name: 'register with an unknown field',
    status: 400,
    code: 'VALIDATION_FAILED',
    run: () => post('/auth/register', { identifier: uniqueEmail(), password: PASSWORD, role: 'admin' }),
  },
  {
    name: 'register without a password',
    status: 400,
    code: 'VALIDATION_FAILED',
    run: () => post('/auth/register', { identifier: uniqueEmail() }),
  },
  {
    name: 'register with a password under 8 characters',
    status: 400,
    code: 'VALIDATION_FAILED',
    run: () => post('/auth/register', { identifier: uniqueEmail(), password: 'short' }),
  },
  {
    name: 'register with an identifier that is neither email nor E.164',
    status: 400,
    code: 'VALIDATION_FAILED',
    run: () => post('/auth/register', { identifier: 'not an identifier', password: PASSWORD }),
  },
  {
    name: 'login with a bad platform',
    status: 400,
    code: 'VALIDATION_FAILED',
    run: () =>
      post('/auth/login', { identifier: uniqueEmail(), password: PASSWORD, device: { platform: 'fax' } }),
  },
  {
    name: 'login without a device',
    status: 400,
    code: 'VALIDATION_FAILED',
    run: () => post('/auth/login', { identifier: uniqueEmail(), password: PASSWORD }),
  },
  {
    name: 'login with bad JSON',
    status: 400,
    code: 'VALIDATION_FAILED',
    run: () =>
      post('/auth/login', '{"identifier":"a@example.com","password":', {
        headers: { 'content-type': 'application/json' },
      }),
  },
  {
    name: 'refresh with an empty body object',
    status: 400,
    code: 'VALIDATION_FAILED',
    run: () => post('/auth/refresh-token', {}),
  },
  {
    name: 'revoke-session with an unknown field',
    status: 400,
    code: 'VALIDATION_FAILED',
    run: async () => {
      const { pair } = await user()
      return authed(app, 'POST', '/auth/revoke-session', pair.accessToken, { sessionId: 'x', all: true })
    },
  },
  // 401 INVALID_CREDENTIALS
  {
    name: 'login with an unknown identifier',
    status: 401,
    code: 'INVALID_CREDENTIALS',
    run: () => loginAttempt(uniqueEmail(), PASSWORD),
  },
  {
    name: 'login with a wrong password',
    status: 401,
    code: 'INVALID_CREDENTIALS',
    run: async () => loginAttempt((await register(app)).identifier, 'wrong password!'),
  },
  // 401 TOKEN_MISSING
  {
    name: 'me without a bearer token',
    status: 401,
    code: 'TOKEN_MISSING',
    bearer: true,
    run: () => app.inject({ method: 'GET', url: '/auth/me' }),
  },
  {
    name: 'logout without a bearer token',
    status: 401,
    code: 'TOKEN_MISSING',
    bearer: true,
    run: () => app.inject({ method: 'POST', url: '/auth/logout' }),
  },
  // 401 TOKEN_INVALID
  {
    name: 'me with a garbage bearer token',
    status: 401,
    code: 'TOKEN_INVALID',
    bearer: true,
    run: () => authed(app, 'GET', '/auth/me', 'garbage.garbage.garbage'),
  },
  {
    name: 'me with a non-Bearer Authorization scheme',
    status: 401,
    code: 'TOKEN_INVALID',
    bearer: true,
    run: () =>
      app.inject({ method: 'GET', url: '/auth/me', headers: { authorization: 'Basic dXNlcjpwYXNz' } }),
  },
  {
    name: 'refresh with an unknown refresh token',
    status: 401,
    code: 'TOKEN_INVALID',
    run: () => refresh(app, `rt_${randomBytes(32).toString('base64url')}`),
  },
  // 401 TOKEN_EXPIRED
  {
    name: 'me with an access token past exp',
    status: 401,
    code: 'TOKEN_EXPIRED',
    bearer: true,
    run: async () => authed(app, 'GET', '/auth/me', await expiredAccessToken()),
  },
  {
    name: 'refresh of a session past its absolute expiry',
    status: 401,
    code: 'TOKEN_EXPIRED',
    run: async () => {
      const { pair } = await user()
      await sql`update sessions set expires_at = ${new Date(Date.now() - 1000)} where id = ${pair.sessionId}`.execute(
        app.db,
      )
      return refresh(app, pair.refreshToken)
    },
  },
  // 401 TOKEN_REVOKED
  {
    name: 'me after logout',
    status: 401,
    code: 'TOKEN_REVOKED',
    bearer: true,
    run: async () => {
      const { pair } = await user()
      expect((await authed(app, 'POST', '/auth/logout', pair.accessToken)).statusCode).toBe(204)
      return authed(app, 'GET', '/auth/me', pair.accessToken)
    },
  },
  {
    name: 'refresh after logout',
    status: 401,
    code: 'TOKEN_REVOKED',
    run: async () => {
      const { pair } = await user()
      expect((await authed(app, 'POST', '/auth/logout', pair.accessToken)).statusCode).toBe(204)
      return refresh(app, pair.refreshToken)
    },
  },
  // 401 TOKEN_REUSED
  {
    name: 'refresh with a token two rotations old',
    status: 401,
    code: 'TOKEN_REUSED',
    run: async () => {
      const { pair } = await user()
      const second = (await refresh(app, pair.refreshToken)).json()
      expect((await refresh(app, second.refreshToken)).statusCode).toBe(200)
      return refresh(app, pair.refreshToken)
    },
  },
  // 401 DEVICE_MISMATCH
  {
    name: 'refresh from another device id',
    status: 401,
    code: 'DEVICE_MISMATCH',
    run: async () => {
      const { pair } = await user()
      return refresh(app, pair.refreshToken, { id: 'device-2', platform: 'android' })
    },
  },
  // 403 FORBIDDEN
  {
    name: 'admin route as a plain user',
    status: 403,
    code: 'FORBIDDEN',
    run: async () => {
      const { pair, userId } = await user()
      return authed(app, 'POST', `/auth/admin/users/${userId}/revoke-sessions`, pair.accessToken)
    },
  },
  // 404 SESSION_NOT_FOUND
  {
    name: "revoke another user's session",
    status: 404,
    code: 'SESSION_NOT_FOUND',
    run: async () => {
      const victim = await user()
      const attacker = await user()
      return authed(app, 'POST', '/auth/revoke-session', attacker.pair.accessToken, {
        sessionId: victim.pair.sessionId,
      })
    },
  },
  {
    name: 'revoke a random session id',
    status: 404,
    code: 'SESSION_NOT_FOUND',
    run: async () => {
      const { pair } = await user()
      return authed(app, 'POST', '/auth/revoke-session', pair.accessToken, {
        sessionId: randomBytes(16).toString('base64url'),
      })
    },
  },
  // 409 IDENTIFIER_TAKEN
  {
    name: 'register an email already in use',
    status: 409,
    code: 'IDENTIFIER_TAKEN',
    run: async () =>
      post('/auth/register', { identifier: (await register(app)).identifier, password: PASSWORD }),
  },
  {
    name: 'register a case variant of an email in use',
    status: 409,
    code: 'IDENTIFIER_TAKEN',
    run: async () => {
      const { identifier } = await register(app)
      return post('/auth/register', { identifier: identifier.toUpperCase(), password: PASSWORD })
    },
  },
  {
    name: 'register a spaced variant of a phone number in use',
    status: 409,
    code: 'IDENTIFIER_TAKEN',
    run: async () => {
      const { identifier } = await register(app, uniquePhone())
      const spaced = `${identifier.slice(0, 4)} ${identifier.slice(4, 7)} ${identifier.slice(7)}`
      return post('/auth/register', { identifier: spaced, password: PASSWORD })
    },
  },
  // 413 PAYLOAD_TOO_LARGE
  {
    name: 'register with a 17 KB body',
    status: 413,
    code: 'PAYLOAD_TOO_LARGE',
    run: () =>
      post('/auth/register', {
        identifier: uniqueEmail(),
        password: PASSWORD,
        displayName: 'x'.repeat(17 * 1024),
      }),
  },
  {
    name: 'login with a 17 KB body',
    status: 413,
    code: 'PAYLOAD_TOO_LARGE',
    run: () =>
      post('/auth/login', {
        identifier: uniqueEmail(),
        password: 'p'.repeat(17 * 1024),
        device: { platform: 'web' },
      }),
  },
  // 429 RATE_LIMITED
  {
    name: 'a fourth login from one IP within a minute (limit 3/1m)',
    status: 429,
    code: 'RATE_LIMITED',
    retryAfter: true,
    run: async () => {
      const ip = nextIp()
      for (let i = 0; i < 3; i++)
        expect((await loginAttempt(uniqueEmail(), PASSWORD, ip)).statusCode).toBe(401)
      return loginAttempt(uniqueEmail(), PASSWORD, ip)
    },
  },
  // 429 LOGIN_LOCKED
  {
    name: 'the right password after five wrong ones',
    status: 429,
    code: 'LOGIN_LOCKED',
    retryAfter: true,
    run: async () => {
      const { identifier } = await register(app)
      for (let i = 0; i < 5; i++)
        expect((await loginAttempt(identifier, 'wrong password!')).statusCode).toBe(401)
      return loginAttempt(identifier, PASSWORD)
    },
  },
]

describe("docs/api.md's error table", () => {
  it.each(rows)('$status $code: $name', async ({ status, code, run, bearer, retryAfter }) => {
    const res = await run()
    expect(res.statusCode).toBe(status)
    expect(res.headers['content-type']).toMatch(/^application\/json/)
    const body = res.json()
    expect(Object.keys(body).sort()).toEqual(['code', 'error', 'message', 'statusCode'])
    expect(body).toMatchObject({ statusCode: status, code, error: STATUS_TEXT[status] })
    expect(typeof body.message).toBe('string')
    expect(body.message.length).toBeGreaterThan(0)
    expect(body.message).not.toMatch(/eyJ|rt_|scrypt|correct horse|\n\s+at /)
    if (bearer) expect(res.headers['www-authenticate']).toBe('Bearer error="invalid_token"')
    if (retryAfter) {
      const seconds = Number(res.headers['retry-after'])
      expect(Number.isInteger(seconds)).toBe(true)
      expect(seconds).toBeGreaterThan(0)
      expect(seconds).toBeLessThanOrEqual(15 * 60)
    }
  })

  it('every code of the table except DEPENDENCY_UNAVAILABLE has a row', () => {
    const covered = new Set(rows.map((r) => r.code))
    for (const code of [
      'VALIDATION_FAILED',
      'INVALID_CREDENTIALS',
      'TOKEN_MISSING',
      'TOKEN_INVALID',
      'TOKEN_EXPIRED',
      'TOKEN_REVOKED',
      'TOKEN_REUSED',
      'DEVICE_MISMATCH',
      'FORBIDDEN',
      'SESSION_NOT_FOUND',
      'IDENTIFIER_TAKEN',
      'PAYLOAD_TOO_LARGE',
      'RATE_LIMITED',
      'LOGIN_LOCKED',
    ])
      expect(covered, code).toContain(code)
  })
})

describe('INVALID_CREDENTIALS and LOGIN_LOCKED details', () => {
  it('an unknown identifier and a wrong password get byte-identical answers', async () => {
    const { identifier } = await register(app)
    const unknown = await loginAttempt(uniqueEmail(), 'wrong password!')
    const wrong = await loginAttempt(identifier, 'wrong password!')
    expect(unknown.statusCode).toBe(401)
    expect(wrong.statusCode).toBe(401)
    expect(wrong.body).toBe(unknown.body)
    const shown = (r: Response) => ({
      type: r.headers['content-type'],
      auth: r.headers['www-authenticate'],
      retry: r.headers['retry-after'],
    })
    expect(shown(wrong)).toEqual(shown(unknown))
  })

  it('a successful login before the fifth failure resets the count', async () => {
    const { identifier } = await register(app)
    for (let i = 0; i < 4; i++)
      expect((await loginAttempt(identifier, 'wrong password!')).statusCode).toBe(401)
    expect((await loginAttempt(identifier, PASSWORD)).statusCode).toBe(200)
    for (let i = 0; i < 4; i++)
      expect((await loginAttempt(identifier, 'wrong password!')).statusCode).toBe(401)
    // Eight failures in all, but never five in a row: still not locked.
    expect((await loginAttempt(identifier, PASSWORD)).statusCode).toBe(200)
  })

  it('the lock is per identifier: it follows an email in any letter case and spares other accounts', async () => {
    const locked = await register(app)
    const other = await register(app)
    for (let i = 0; i < 5; i++) await loginAttempt(locked.identifier, 'wrong password!')
    const res = await loginAttempt(locked.identifier.toUpperCase(), PASSWORD)
    expect(res.statusCode).toBe(429)
    expect(res.json().code).toBe('LOGIN_LOCKED')
    expect((await login(app, other.identifier, { ip: nextIp() })).sessionId).toEqual(expect.any(String))
  })
})
