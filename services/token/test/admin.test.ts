import type { SessionEvent } from '@africhain/events'
import { waitFor } from '@africhain/testing'
import { beforeAll, describe, expect, it } from 'vitest'
import { authed, login, PASSWORD, refresh, register, signIn, useTestApp } from './helpers/app.ts'
import { eventsMatching } from './helpers/stream.ts'

// docs/api.md v2, the admin routes: lookup, profile, unlock, disable/enable (admin only), single-session revoke,
// revoke-sessions' 404; every admin action an event carrying `data.actorId`.

const { app, config, redis } = useTestApp('admin', { env: { LOGIN_LOCK_THRESHOLD: '3' } })
let officer: { userId: string; token: string }
let administrator: { userId: string; token: string }
let plain: { userId: string; token: string }

async function caller(roles: string) {
  const user = await register(app)
  await app.db.updateTable('users').set({ roles }).where('id', '=', user.userId).execute()
  return { userId: user.userId, token: (await login(app, user.identifier)).accessToken }
}

beforeAll(async () => {
  officer = await caller('user security')
  administrator = await caller('user admin')
  plain = await caller('user')
})

const loginAs = (identifier: string, password = PASSWORD) =>
  app.inject({
    method: 'POST',
    url: '/auth/login',
    payload: { identifier, password, device: { platform: 'web' } },
  })

const eventOf = async (userId: string, type: SessionEvent['type']) =>
  (await eventsMatching(redis, config.EVENTS_STREAM, (e) => e.userId === userId && e.type === type, type))[0]!

const UNKNOWN = '00000000-0000-4000-8000-000000000000'

describe('admin routes: who may call them', () => {
  const routes: [string, 'GET' | 'POST', (userId: string, sessionId: string) => string, string][] = [
    ['lookup', 'GET', () => '/auth/admin/users?identifier=nobody%40example.com', 'security'],
    ['profile', 'GET', (u) => `/auth/admin/users/${u}`, 'security'],
    ['unlock', 'POST', (u) => `/auth/admin/users/${u}/unlock`, 'security'],
    ['revoke-sessions', 'POST', (u) => `/auth/admin/users/${u}/revoke-sessions`, 'security'],
    ['session revoke', 'POST', (_u, s) => `/auth/admin/sessions/${s}/revoke`, 'security'],
    ['disable', 'POST', (u) => `/auth/admin/users/${u}/disable`, 'admin'],
    ['enable', 'POST', (u) => `/auth/admin/users/${u}/enable`, 'admin'],
  ]

  it.each(routes)('%s: 401 without a token, 403 for a plain user', async (_name, method, url) => {
    const target = await signIn(app)
    const path = url(target.userId, target.pair.sessionId)
    const anonymous = await app.inject({ method, url: path })
    expect(anonymous.statusCode).toBe(401)
    expect(anonymous.json().code).toBe('TOKEN_MISSING')
    const forbidden = await authed(app, method, path, plain.token)
    expect(forbidden.statusCode).toBe(403)
    expect(forbidden.json()).toMatchObject({ statusCode: 403, code: 'FORBIDDEN' })
    // Nothing happened to the target.
    expect((await authed(app, 'GET', '/auth/me', target.pair.accessToken)).statusCode).toBe(200)
  })

  it.each(routes.filter((r) => r[3] === 'admin'))('%s: 403 for the security team', async (_n, m, url) => {
    const target = await signIn(app)
    const res = await authed(app, m, url(target.userId, target.pair.sessionId), officer.token)
    expect(res.json().code).toBe('FORBIDDEN')
    expect((await loginAs(target.identifier)).statusCode).toBe(200)
  })

  it.each([
    ['profile', 'GET', `/auth/admin/users/${UNKNOWN}`, 'USER_NOT_FOUND'],
    ['unlock', 'POST', `/auth/admin/users/${UNKNOWN}/unlock`, 'USER_NOT_FOUND'],
    ['revoke-sessions', 'POST', `/auth/admin/users/${UNKNOWN}/revoke-sessions`, 'USER_NOT_FOUND'],
    ['disable', 'POST', `/auth/admin/users/${UNKNOWN}/disable`, 'USER_NOT_FOUND'],
    ['enable', 'POST', `/auth/admin/users/${UNKNOWN}/enable`, 'USER_NOT_FOUND'],
    ['session revoke', 'POST', '/auth/admin/sessions/no-such-session/revoke', 'SESSION_NOT_FOUND'],
  ] as const)('%s of something that does not exist: 404 %s', async (_name, method, url, code) => {
    const res = await authed(app, method, url, administrator.token)
    expect(res.statusCode).toBe(404)
    expect(res.json()).toMatchObject({ statusCode: 404, code })
  })
})

describe('GET /auth/admin/users', () => {
  it('finds a user by any spelling of the identifier, with the profile of docs/api.md', async () => {
    const user = await register(app, 'Fatuma.Hassan@Example.com')
    const res = await authed(
      app,
      'GET',
      `/auth/admin/users?identifier=${encodeURIComponent('  FATUMA.HASSAN@example.COM ')}`,
      officer.token,
    )
    expect(res.statusCode, res.body).toBe(200)
    expect(res.json()).toEqual({
      users: [
        {
          userId: user.userId,
          identifier: 'fatuma.hassan@example.com',
          displayName: null,
          roles: ['user'],
          createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
          locked: false,
          disabled: false,
        },
      ],
    })
    expect(res.body).not.toMatch(/scrypt|password/i)
  })

  it('answers an empty list for an unknown identifier, 400 for a malformed or missing one', async () => {
    const none = await authed(app, 'GET', '/auth/admin/users?identifier=%2B254700000001', officer.token)
    expect(none.json()).toEqual({ users: [] })
    for (const query of ['?identifier=not-an-identifier', '', '?identifier=a%40b.co&extra=1']) {
      const res = await authed(app, 'GET', `/auth/admin/users${query}`, officer.token)
      expect(res.statusCode, query).toBe(400)
      expect(res.json().code).toBe('VALIDATION_FAILED')
    }
  })
})

describe('GET /auth/admin/users/:userId', () => {
  it('shows the profile and the active sessions only', async () => {
    const user = await signIn(app)
    const second = await login(app, user.identifier, { device: { platform: 'ios', name: 'iPad' } })
    const ended = await login(app, user.identifier)
    await authed(app, 'POST', '/auth/logout', ended.accessToken)
    const res = await authed(app, 'GET', `/auth/admin/users/${user.userId}`, officer.token)
    expect(res.statusCode).toBe(200)
    const body = res.json()
    expect(body).toMatchObject({ userId: user.userId, identifier: user.identifier, locked: false })
    expect(body.sessions.map((s: { sessionId: string }) => s.sessionId).sort()).toEqual(
      [user.pair.sessionId, second.sessionId].sort(),
    )
    expect(body.sessions.every((s: { current: boolean }) => s.current === false)).toBe(true)
    expect(body.sessions.find((s: { sessionId: string }) => s.sessionId === second.sessionId).device).toEqual(
      {
        platform: 'ios',
        name: 'iPad',
        userAgent: 'lightMyRequest',
      },
    )
  })
})

describe('unlock', () => {
  it('shows the lock, lifts it so the right password logs in, and emits user.unlocked', async () => {
    const user = await register(app)
    for (let i = 0; i < 3; i++) expect((await loginAs(user.identifier, `wrong ${i}`)).statusCode).toBe(401)
    expect((await loginAs(user.identifier)).json().code).toBe('LOGIN_LOCKED')
    const profile = await authed(app, 'GET', `/auth/admin/users/${user.userId}`, officer.token)
    expect(profile.json().locked).toBe(true)

    const res = await authed(app, 'POST', `/auth/admin/users/${user.userId}/unlock`, officer.token)
    expect(res.statusCode).toBe(204)
    expect((await loginAs(user.identifier)).statusCode).toBe(200)
    expect((await authed(app, 'GET', `/auth/admin/users/${user.userId}`, officer.token)).json().locked).toBe(
      false,
    )
    expect((await eventOf(user.userId, 'user.unlocked')).data).toEqual({ actorId: officer.userId })
  })

  it('clears the failure count too: a full window of attempts is available again', async () => {
    const user = await register(app)
    for (let i = 0; i < 2; i++) await loginAs(user.identifier, `wrong ${i}`)
    await authed(app, 'POST', `/auth/admin/users/${user.userId}/unlock`, officer.token)
    // Two more failures would have locked it (threshold 3) had the count survived.
    for (let i = 0; i < 2; i++) expect((await loginAs(user.identifier, `again ${i}`)).statusCode).toBe(401)
    expect((await loginAs(user.identifier)).statusCode).toBe(200)
  })
})

describe('disable and enable', () => {
  it('disable revokes every session now, then login and refresh answer 403 USER_DISABLED', async () => {
    const user = await signIn(app)
    const other = await login(app, user.identifier)
    const res = await authed(app, 'POST', `/auth/admin/users/${user.userId}/disable`, administrator.token)
    expect(res.statusCode).toBe(204)

    for (const pair of [user.pair, other]) {
      expect((await authed(app, 'GET', '/auth/me', pair.accessToken)).json().code).toBe('TOKEN_REVOKED')
      const refused = await refresh(app, pair.refreshToken)
      expect(refused.statusCode).toBe(403)
      expect(refused.json()).toMatchObject({ statusCode: 403, code: 'USER_DISABLED' })
    }
    const loginRes = await loginAs(user.identifier)
    expect(loginRes.statusCode).toBe(403)
    expect(loginRes.json().code).toBe('USER_DISABLED')
    // A wrong password is still just wrong: a stranger cannot learn that the account is disabled.
    expect((await loginAs(user.identifier, 'not the password')).json().code).toBe('INVALID_CREDENTIALS')

    const rows = await app.db
      .selectFrom('sessions')
      .select('revoked_reason')
      .where('user_id', '=', user.userId)
      .execute()
    expect(rows.map((r) => r.revoked_reason)).toEqual(['admin', 'admin'])
    const profile = await authed(app, 'GET', `/auth/admin/users/${user.userId}`, officer.token)
    expect(profile.json()).toMatchObject({ disabled: true, sessions: [] })
    expect((await eventOf(user.userId, 'user.disabled')).data).toEqual({ actorId: administrator.userId })
  })

  it('enable restores login (old sessions stay revoked) and emits user.enabled', async () => {
    const user = await signIn(app)
    await authed(app, 'POST', `/auth/admin/users/${user.userId}/disable`, administrator.token)
    const res = await authed(app, 'POST', `/auth/admin/users/${user.userId}/enable`, administrator.token)
    expect(res.statusCode).toBe(204)
    expect((await loginAs(user.identifier)).statusCode).toBe(200)
    expect((await refresh(app, user.pair.refreshToken)).json().code).toBe('TOKEN_REVOKED')
    expect((await eventOf(user.userId, 'user.enabled')).data).toEqual({ actorId: administrator.userId })
  })

  it('a login racing the disable never leaves a live session behind', async () => {
    // Three logins: the lock threshold, so all of them are admitted to the password check.
    for (let round = 0; round < 10; round++) {
      const user = await register(app)
      const results = await Promise.all([
        ...Array.from({ length: 3 }, () => loginAs(user.identifier)),
        authed(app, 'POST', `/auth/admin/users/${user.userId}/disable`, administrator.token),
      ])
      for (const r of results) expect([200, 204, 403], r.body).toContain(r.statusCode)
      const live = await app.db
        .selectFrom('sessions')
        .select('id')
        .where('user_id', '=', user.userId)
        .where('revoked_at', 'is', null)
        .execute()
      expect(live, `round ${round}`).toEqual([])
    }
  })

  it('disabling twice writes one user.disabled event', async () => {
    const user = await signIn(app)
    for (let i = 0; i < 2; i++)
      expect(
        (await authed(app, 'POST', `/auth/admin/users/${user.userId}/disable`, administrator.token))
          .statusCode,
      ).toBe(204)
    await authed(app, 'POST', `/auth/admin/users/${user.userId}/enable`, administrator.token)
    await eventOf(user.userId, 'user.enabled') // published after both disables: the relay keeps order
    const disabled = await eventsMatching(
      redis,
      config.EVENTS_STREAM,
      (e) => e.userId === user.userId && e.type === 'user.disabled',
      'user.disabled',
    )
    expect(disabled).toHaveLength(1)
  })
})

describe('session revocation by the security team', () => {
  it('revokes one session of any user (reason admin), leaving the others', async () => {
    const user = await signIn(app)
    const other = await login(app, user.identifier)
    const url = `/auth/admin/sessions/${other.sessionId}/revoke`
    expect((await authed(app, 'POST', url, officer.token)).statusCode).toBe(204)
    expect((await authed(app, 'GET', '/auth/me', other.accessToken)).json().code).toBe('TOKEN_REVOKED')
    expect((await authed(app, 'GET', '/auth/me', user.pair.accessToken)).statusCode).toBe(200)
    const revoked = await eventOf(user.userId, 'session.revoked')
    expect(revoked).toMatchObject({
      sessionId: other.sessionId,
      data: { reason: 'admin', actorId: officer.userId },
    })
    // Again: it stays revoked, and nothing else is.
    expect((await authed(app, 'POST', url, officer.token)).statusCode).toBe(204)
    expect((await authed(app, 'GET', '/auth/me', user.pair.accessToken)).statusCode).toBe(200)
  })

  it('revoke-sessions still answers the count for a known user', async () => {
    const user = await signIn(app)
    await login(app, user.identifier)
    const res = await authed(app, 'POST', `/auth/admin/users/${user.userId}/revoke-sessions`, officer.token)
    expect(res.json()).toEqual({ revoked: 2 })
    // Each revocation is an event naming the analyst who did it (the console's timeline shows it).
    const revokedOf = async () =>
      await eventsMatching(
        redis,
        config.EVENTS_STREAM,
        (e) => e.userId === user.userId && e.type === 'session.revoked',
        'session.revoked',
      )
    await waitFor(async () => (await revokedOf()).length === 2, 'both session.revoked events')
    const revoked = await revokedOf()
    expect(revoked.map((e) => e.data)).toEqual([
      expect.objectContaining({ reason: 'admin', actorId: officer.userId }),
      expect.objectContaining({ reason: 'admin', actorId: officer.userId }),
    ])
  })
})
