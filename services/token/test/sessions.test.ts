import { createHash, randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { authed, login, register, signIn, useTestApp } from './helpers/app.ts'

const secret = randomBytes(24).toString('base64url')
const { app } = useTestApp('sessions', {
  env: {
    INTROSPECTION_CLIENTS: `analytics:${createHash('sha256').update(secret).digest('hex')}`,
  },
})

describe('sessions across devices', () => {
  it('lists active sessions with device, IP and times, marking the current one', async () => {
    const user = await register(app)
    const phone = await login(app, user.identifier, {
      device: { id: 'p1', platform: 'android', name: 'Tecno' },
    })
    const cafe = await login(app, user.identifier, { device: { platform: 'web' }, ip: '10.1.2.3' })
    const res = await authed(app, 'GET', '/auth/sessions', phone.accessToken)
    expect(res.statusCode).toBe(200)
    const sessions = res.json().sessions as Array<Record<string, unknown>>
    expect(sessions).toHaveLength(2)
    const mine = sessions.find((s) => s.sessionId === phone.sessionId)!
    expect(mine).toMatchObject({
      current: true,
      device: { id: 'p1', platform: 'android', name: 'Tecno' },
      ip: '127.0.0.1',
    })
    expect(sessions.find((s) => s.sessionId === cafe.sessionId)).toMatchObject({
      current: false,
      ip: '10.1.2.3',
    })
    for (const s of sessions) {
      expect(Date.parse(s.expiresAt as string)).toBeGreaterThan(Date.parse(s.createdAt as string))
    }
  })

  it('revokes one session: its access token stops on the next request, others keep working', async () => {
    const user = await register(app)
    const a = await login(app, user.identifier)
    const b = await login(app, user.identifier)
    const res = await authed(app, 'POST', '/auth/revoke-session', a.accessToken, { sessionId: b.sessionId })
    expect(res.statusCode).toBe(204)
    expect((await authed(app, 'GET', '/auth/me', b.accessToken)).json().code).toBe('TOKEN_REVOKED')
    expect((await authed(app, 'GET', '/auth/me', a.accessToken)).statusCode).toBe(200)
    const list = (await authed(app, 'GET', '/auth/sessions', a.accessToken)).json().sessions
    expect(list.map((s: { sessionId: string }) => s.sessionId)).toEqual([a.sessionId])
  })

  it("cannot revoke someone else's session (404, and the session survives)", async () => {
    const mallory = await signIn(app)
    const victim = await signIn(app)
    const res = await authed(app, 'POST', '/auth/revoke-session', mallory.pair.accessToken, {
      sessionId: victim.pair.sessionId,
    })
    expect(res.statusCode).toBe(404)
    expect(res.json().code).toBe('SESSION_NOT_FOUND')
    expect((await authed(app, 'GET', '/auth/me', victim.pair.accessToken)).statusCode).toBe(200)
  })

  it('logout-all revokes every session, or every other one with keepCurrent', async () => {
    const user = await register(app)
    const pairs = [
      await login(app, user.identifier),
      await login(app, user.identifier),
      await login(app, user.identifier),
    ]
    const keep = await authed(app, 'POST', '/auth/logout-all', pairs[0]!.accessToken, { keepCurrent: true })
    expect(keep.json()).toEqual({ revoked: 2 })
    expect((await authed(app, 'GET', '/auth/me', pairs[0]!.accessToken)).statusCode).toBe(200)
    expect((await authed(app, 'GET', '/auth/me', pairs[1]!.accessToken)).json().code).toBe('TOKEN_REVOKED')
    const all = await authed(app, 'POST', '/auth/logout-all', pairs[0]!.accessToken)
    expect(all.json()).toEqual({ revoked: 1 })
    expect((await authed(app, 'GET', '/auth/me', pairs[0]!.accessToken)).json().code).toBe('TOKEN_REVOKED')
  })

  it('lets the security team revoke a user; a plain user gets 403', async () => {
    const target = await signIn(app)
    const plain = await signIn(app)
    const forbidden = await authed(
      app,
      'POST',
      `/auth/admin/users/${target.userId}/revoke-sessions`,
      plain.pair.accessToken,
    )
    expect(forbidden.statusCode).toBe(403)
    expect(forbidden.json().code).toBe('FORBIDDEN')
    const officer = await register(app)
    await app.db
      .updateTable('users')
      .set({ roles: 'user security' })
      .where('id', '=', officer.userId)
      .execute()
    const officerPair = await login(app, officer.identifier)
    const res = await authed(
      app,
      'POST',
      `/auth/admin/users/${target.userId}/revoke-sessions`,
      officerPair.accessToken,
    )
    expect(res.json()).toEqual({ revoked: 1 })
    expect((await authed(app, 'GET', '/auth/me', target.pair.accessToken)).json().code).toBe('TOKEN_REVOKED')
  })
})

describe('introspection (RFC 7662)', () => {
  const basic = (id: string, s: string) => `Basic ${Buffer.from(`${id}:${s}`).toString('base64')}`

  it('answers active with the claims for a live token, form or JSON encoded', async () => {
    const { userId, pair } = await signIn(app)
    const form = await app.inject({
      method: 'POST',
      url: '/auth/introspect',
      headers: {
        authorization: basic('analytics', secret),
        'content-type': 'application/x-www-form-urlencoded',
      },
      payload: `token=${encodeURIComponent(pair.accessToken)}`,
    })
    expect(form.statusCode).toBe(200)
    expect(form.json()).toMatchObject({
      active: true,
      sub: userId,
      sid: pair.sessionId,
      roles: ['user'],
      client_id: 'analytics',
    })
    expect(form.headers['cache-control']).toBe('no-store')
    const json = await app.inject({
      method: 'POST',
      url: '/auth/introspect',
      headers: { authorization: basic('analytics', secret) },
      payload: { token: pair.accessToken },
    })
    expect(json.json().active).toBe(true)
  })

  it.each([
    ['a revoked token', 'revoked'],
    ['garbage', 'garbage'],
    ['a refresh token', 'refresh'],
  ])('answers { active: false } for %s', async (_name, kind) => {
    const { pair } = await signIn(app)
    if (kind === 'revoked') await authed(app, 'POST', '/auth/logout', pair.accessToken)
    const token =
      kind === 'garbage' ? 'not.a.token' : kind === 'refresh' ? pair.refreshToken : pair.accessToken
    const res = await app.inject({
      method: 'POST',
      url: '/auth/introspect',
      headers: { authorization: basic('analytics', secret) },
      payload: { token },
    })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({ active: false })
  })

  it.each([
    ['no credentials', undefined],
    ['a wrong secret', basic('analytics', 'nope')],
    ['an unknown client', basic('billing', secret)],
    ['a bearer token instead', 'Bearer abc'],
  ])('refuses %s with 401', async (_name, authorization) => {
    const res = await app.inject({
      method: 'POST',
      url: '/auth/introspect',
      headers: authorization ? { authorization } : {},
      payload: { token: 'x' },
    })
    expect(res.statusCode).toBe(401)
    expect(res.json().code).toBe('CLIENT_UNAUTHORIZED')
  })
})

describe('operations endpoints', () => {
  it('serves health, metrics and the OpenAPI document', async () => {
    expect((await app.inject('/health/live')).statusCode).toBe(200)
    expect((await app.inject('/health/ready')).json()).toEqual({
      status: 'ok',
      checks: { redis: 'ok', database: 'ok' },
    })
    const metrics = await app.inject('/metrics')
    expect(metrics.body).toMatch(/token_refreshes_total/)
    expect(metrics.body).toMatch(/token_outbox_backlog/)
    const doc = await app.inject('/docs/json')
    expect(Object.keys(doc.json().paths)).toEqual(
      expect.arrayContaining(['/auth/login', '/auth/refresh-token', '/auth/sessions']),
    )
  })
})
