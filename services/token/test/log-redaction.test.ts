import { createHash } from 'node:crypto'
import { waitFor } from '@africhain/testing'
import type { InjectOptions } from 'fastify'
import { beforeAll, describe, expect, it } from 'vitest'
import { authed, LOGIN_DEVICE, login, type Pair, refresh, uniqueEmail, useTestApp } from './helpers/app.ts'

// docs/security.md: "no token, hash or password ever appears in an event, a log line or an error message (grep
// the logs for `eyJ`)". One app at LOG_LEVEL trace with every log line captured; a scripted tour of every
// route that touches a secret, the error paths included; then grep the lines, the responses and the stream.

const INTROSPECT_SECRET = 'log-redaction-introspection-secret'
const lines: string[] = []
const { app, config, redis } = useTestApp('logs', {
  env: {
    LOG_LEVEL: 'trace',
    INTROSPECTION_CLIENTS: `svc:${createHash('sha256').update(INTROSPECT_SECRET).digest('hex')}`,
  },
  build: { logStream: { write: (line) => void lines.push(line) } },
})
const PASSWORD = 'Mb7#redaction-canary-pw'
const WRONG_PASSWORD = 'Zq9#wrong-canary-pw'
const responses: string[] = []
let userId: string
const accessTokens: string[] = []
const refreshTokens: string[] = []

async function call(opts: InjectOptions) {
  const res = await app.inject(opts)
  responses.push(res.body)
  return res
}
const basic = `Basic ${Buffer.from(`svc:${INTROSPECT_SECRET}`).toString('base64')}`
const keep = (pair: Pair) => {
  accessTokens.push(pair.accessToken)
  refreshTokens.push(pair.refreshToken)
  return pair
}

/** Every flow of the token service that carries a password or a token, successful and failing. */
async function tour(): Promise<void> {
  const identifier = uniqueEmail()
  const reg = await call({
    method: 'POST',
    url: '/auth/register',
    payload: { identifier, password: PASSWORD },
  })
  expect(reg.statusCode).toBe(201)
  userId = reg.json().userId
  // A second registration: 409, with the password in the body again.
  await call({ method: 'POST', url: '/auth/register', payload: { identifier, password: PASSWORD } })

  const first = keep(await login(app, identifier, { password: PASSWORD }))
  const rotated = await call({
    method: 'POST',
    url: '/auth/refresh-token',
    payload: { refreshToken: first.refreshToken, device: LOGIN_DEVICE },
  })
  expect(rotated.statusCode).toBe(200)
  const second = keep(rotated.json())

  for (const url of ['/auth/me', '/auth/sessions']) {
    expect(
      (await call({ method: 'GET', url, headers: { authorization: `Bearer ${second.accessToken}` } }))
        .statusCode,
    ).toBe(200)
  }
  // A token in the query string as well as in the header: neither may reach a log line.
  await call({
    method: 'GET',
    url: `/auth/me?access_token=${second.accessToken}&refresh_token=${second.refreshToken}`,
    headers: { authorization: `Bearer ${second.accessToken}` },
  })

  // Introspection, JSON and form-encoded, active and not.
  for (const payload of [{ token: second.accessToken }, { token: second.refreshToken }]) {
    await call({ method: 'POST', url: '/auth/introspect', headers: { authorization: basic }, payload })
  }
  const form = await call({
    method: 'POST',
    url: '/auth/introspect',
    headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
    payload: `token=${second.accessToken}&token_type_hint=access_token`,
  })
  expect(form.json().active).toBe(true)
  await call({
    method: 'POST',
    url: '/auth/introspect',
    headers: { authorization: `Basic ${Buffer.from(`svc:${PASSWORD}`).toString('base64')}` },
    payload: { token: second.accessToken },
  })

  // Failed logins: wrong password, unknown identifier, bad JSON carrying the password.
  await call({
    method: 'POST',
    url: '/auth/login',
    payload: { identifier, password: WRONG_PASSWORD, device: { platform: 'web' } },
  })
  await call({
    method: 'POST',
    url: '/auth/login',
    payload: { identifier: uniqueEmail(), password: WRONG_PASSWORD, device: { platform: 'web' } },
  })
  await call({
    method: 'POST',
    url: '/auth/login',
    headers: { 'content-type': 'application/json' },
    payload: `{"identifier":"${identifier}","password":"${PASSWORD}","device":{`,
  })
  await call({
    method: 'POST',
    url: '/auth/refresh-token',
    headers: { 'content-type': 'application/json' },
    payload: `{"refreshToken":"${second.refreshToken}",`,
  })
  // A schema failure with the password in an unknown field.
  await call({
    method: 'POST',
    url: '/auth/login',
    payload: { identifier, password: PASSWORD, device: { platform: 'web' }, secret: PASSWORD },
  })

  // Reuse of a rotated-out token outside the chain: TOKEN_REUSED, the session revoked.
  const third = keep((await refresh(app, second.refreshToken)).json())
  const reuse = await call({
    method: 'POST',
    url: '/auth/refresh-token',
    payload: { refreshToken: first.refreshToken, device: LOGIN_DEVICE },
  })
  expect(reuse.json().code).toBe('TOKEN_REUSED')
  await call({ method: 'GET', url: '/auth/me', headers: { authorization: `Bearer ${third.accessToken}` } })

  // A fresh session, logged out, then its tokens used again.
  const fourth = keep(await login(app, identifier, { password: PASSWORD }))
  expect((await authed(app, 'POST', '/auth/logout', fourth.accessToken)).statusCode).toBe(204)
  await call({ method: 'GET', url: '/auth/me', headers: { authorization: `Bearer ${fourth.accessToken}` } })
  await call({
    method: 'POST',
    url: '/auth/refresh-token',
    payload: { refreshToken: fourth.refreshToken, device: LOGIN_DEVICE },
  })
  // A malformed bearer value and a refresh token as bearer.
  await call({ method: 'GET', url: '/auth/me', headers: { authorization: `Bearer ${fourth.accessToken}x` } })
  await call({ method: 'GET', url: '/auth/me', headers: { authorization: `Bearer ${fourth.refreshToken}` } })
}

/** Every secret the tour handled, in every spelling that could leak. */
async function secrets(): Promise<string[]> {
  const user = await app.db
    .selectFrom('users')
    .select('password_hash')
    .where('id', '=', userId)
    .executeTakeFirstOrThrow()
  const [, , , , salt, hash] = user.password_hash.split('$')
  const refreshHashes = refreshTokens.flatMap((t) => {
    const digest = createHash('sha256').update(t).digest()
    return [digest.toString('hex'), digest.toString('base64'), digest.toString('base64url')]
  })
  const signatures = accessTokens.map((t) => t.split('.')[2]!)
  return [
    PASSWORD,
    WRONG_PASSWORD,
    INTROSPECT_SECRET,
    user.password_hash,
    salt!,
    hash!,
    ...accessTokens,
    ...signatures,
    ...refreshTokens,
    ...refreshTokens.map((t) => t.slice(3)),
    ...refreshHashes,
  ]
}

function leaks(text: string, known: string[]): string[] {
  const found = known.filter((s) => text.includes(s))
  if (text.includes('eyJ')) found.push('eyJ')
  if (text.includes('rt_')) found.push('rt_')
  if (/scrypt\$/.test(text)) found.push('scrypt$')
  return found
}

describe('no secret in logs, error messages or events', () => {
  let known: string[]
  beforeAll(async () => {
    await tour()
    known = await secrets()
  })

  it('captured the tour at trace level (the grep below is not vacuous)', () => {
    expect(lines.length).toBeGreaterThan(20)
    expect(lines.some((l) => l.includes('/auth/login'))).toBe(true)
    expect(lines.some((l) => l.includes('/auth/introspect'))).toBe(true)
    expect(app.log.level).toBe('trace')
    // The query string carried tokens: the URL is logged, the query never is.
    expect(lines.some((l) => l.includes('"url":"/auth/me"'))).toBe(true)
  })

  it('no log line contains a token, rt_, a password, a secret or a hash', () => {
    const offending = lines
      .map((l) => ({ line: l, leaks: leaks(l, known) }))
      .filter((x) => x.leaks.length > 0)
    expect(offending.map((x) => `${x.leaks.join(',')} in ${x.line.slice(0, 300)}`)).toEqual([])
  })

  it('no response body (errors included) echoes a secret it was not meant to return', () => {
    // Token pairs legitimately return tokens; every other body must not carry one.
    const bodies = responses.filter((b) => !b.includes('"tokenType":"Bearer"'))
    const offending = bodies.filter((b) => leaks(b, known).length > 0)
    expect(offending).toEqual([])
  })

  it('no stream event contains a token, rt_, a password or a hash', async () => {
    const events = await waitFor(async () => {
      const entries = await redis.xrange(config.EVENTS_STREAM, '-', '+')
      const types = entries.map(([, fields]) => fields[fields.indexOf('type') + 1])
      const wanted = [
        'user.registered',
        'session.created',
        'session.refreshed',
        'login.failed',
        'token.reuse_detected',
        'session.revoked',
      ]
      // Every type of the tour, and all of its events (the relay publishes in batches).
      return wanted.every((t) => types.includes(t)) && entries.length >= 10 ? entries : undefined
    }, 'the relay to publish every event type of the tour')
    expect(events.length).toBeGreaterThanOrEqual(10)
    for (const [id, fields] of events) {
      const text = fields.join('\n')
      expect(leaks(text, known), `event ${id}`).toEqual([])
      expect(text, `event ${id}`).not.toMatch(/[0-9a-f]{64}/i) // no SHA-256 in hex
    }
  })

  it('the logger itself censors credential fields a future log call might pass', () => {
    const before = lines.length
    app.log.info(
      {
        headers: { authorization: `Bearer ${accessTokens[0]}` },
        password: PASSWORD,
        refreshToken: refreshTokens[0],
        body: { token: accessTokens[0], accessToken: accessTokens[0], password: PASSWORD },
      },
      'redaction probe',
    )
    const probe = lines.slice(before).find((l) => l.includes('redaction probe'))
    expect(probe).toBeDefined()
    expect(probe).toContain('[redacted]')
    expect(leaks(probe!, known)).toEqual([])
  })
})
