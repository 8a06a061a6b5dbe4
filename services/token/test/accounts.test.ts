import { describe, expect, it } from 'vitest'
import { authed, login, PASSWORD, refresh, register, signIn, startApp, useTestApp } from './helpers/app.ts'
import { eventsMatching } from './helpers/stream.ts'

// docs/api.md v2: `POST /auth/password` (bearer; `{ currentPassword, newPassword }`) → 204; the user's other
// sessions are revoked (reason `password_changed`) and `user.password_changed` carries `actorId`.

const { app, config, redis } = useTestApp('accounts', { env: { LOGIN_LOCK_THRESHOLD: '3' } })

const NEW_PASSWORD = 'a brand new passphrase'

const changePassword = (token: string, currentPassword: string, newPassword = NEW_PASSWORD) =>
  authed(app, 'POST', '/auth/password', token, { currentPassword, newPassword })

const loginStatus = async (identifier: string, password: string) =>
  (
    await app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { identifier, password, device: { platform: 'web' } },
    })
  ).statusCode

describe('POST /auth/password', () => {
  it('stores the new password, revokes the other sessions and keeps the current one', async () => {
    const user = await signIn(app)
    const other = await login(app, user.identifier)
    const res = await changePassword(user.pair.accessToken, PASSWORD)
    expect(res.statusCode, res.body).toBe(204)

    expect((await authed(app, 'GET', '/auth/me', user.pair.accessToken)).statusCode).toBe(200)
    expect((await refresh(app, user.pair.refreshToken)).statusCode).toBe(200)
    expect((await authed(app, 'GET', '/auth/me', other.accessToken)).json().code).toBe('TOKEN_REVOKED')
    expect((await refresh(app, other.refreshToken)).json().code).toBe('TOKEN_REVOKED')

    expect(await loginStatus(user.identifier, PASSWORD)).toBe(401)
    expect(await loginStatus(user.identifier, NEW_PASSWORD)).toBe(200)

    const row = await app.db
      .selectFrom('sessions')
      .select(['revoked_reason'])
      .where('id', '=', other.sessionId)
      .executeTakeFirstOrThrow()
    expect(row.revoked_reason).toBe('password_changed')
  })

  it('emits user.password_changed with the user as actor, and one session.revoked per other session', async () => {
    const user = await signIn(app)
    const other = await login(app, user.identifier)
    expect((await changePassword(user.pair.accessToken, PASSWORD)).statusCode).toBe(204)
    const changed = await eventsMatching(
      redis,
      config.EVENTS_STREAM,
      (e) => e.userId === user.userId && e.type === 'user.password_changed',
      'user.password_changed',
    )
    expect(changed).toHaveLength(1)
    expect(changed[0]!.data).toEqual({ actorId: user.userId })
    const revoked = await eventsMatching(
      redis,
      config.EVENTS_STREAM,
      (e) => e.userId === user.userId && e.type === 'session.revoked',
      'session.revoked',
    )
    expect(revoked.map((e) => [e.sessionId, e.data])).toEqual([
      [other.sessionId, expect.objectContaining({ reason: 'password_changed' })],
    ])
  })

  it('a login with the old password racing the change never leaves a live session behind', async () => {
    for (let round = 0; round < 10; round++) {
      const user = await signIn(app)
      const results = await Promise.all([
        changePassword(user.pair.accessToken, PASSWORD),
        ...Array.from({ length: 2 }, () => loginStatus(user.identifier, PASSWORD)),
      ])
      expect(results[0]!.statusCode, results[0]!.body).toBe(204)
      // Logins before the change are revoked by it, logins after it are refused: only the caller's remains.
      const live = await app.db
        .selectFrom('sessions')
        .select('id')
        .where('user_id', '=', user.userId)
        .where('revoked_at', 'is', null)
        .execute()
      expect(
        live.map((r) => r.id),
        `round ${round}`,
      ).toEqual([user.pair.sessionId])
    }
  })

  it('refuses a wrong current password (401) and changes nothing', async () => {
    const user = await signIn(app)
    const other = await login(app, user.identifier)
    const res = await changePassword(user.pair.accessToken, 'not the password')
    expect(res.statusCode).toBe(401)
    expect(res.json()).toMatchObject({ code: 'INVALID_CREDENTIALS', statusCode: 401 })
    expect(res.body).not.toContain('not the password')
    expect((await authed(app, 'GET', '/auth/me', other.accessToken)).statusCode).toBe(200)
    expect(await loginStatus(user.identifier, PASSWORD)).toBe(200)
  })

  it('counts wrong current passwords like logins: past the threshold even the right one is refused', async () => {
    const user = await signIn(app)
    for (let i = 0; i < 3; i++)
      expect((await changePassword(user.pair.accessToken, `wrong guess ${i}`)).statusCode).toBe(401)
    const locked = await changePassword(user.pair.accessToken, PASSWORD)
    expect(locked.statusCode).toBe(429)
    expect(locked.json().code).toBe('LOGIN_LOCKED')
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0)
    // Its own count, not login's: the password did not change and the owner can still sign in.
    expect(await loginStatus(user.identifier, PASSWORD)).toBe(200)
    const lockedEvent = await eventsMatching(
      redis,
      config.EVENTS_STREAM,
      (e) => e.userId === user.userId && e.type === 'user.locked',
      'user.locked',
    )
    expect(lockedEvent).toHaveLength(1)
  })

  it('a stranger’s failed logins, which lock login, do not lock the signed-in owner’s password change', async () => {
    const user = await signIn(app)
    for (let i = 0; i < 3; i++) expect(await loginStatus(user.identifier, `bad ${i}`)).toBe(401)
    expect(await loginStatus(user.identifier, PASSWORD)).toBe(429)
    expect((await changePassword(user.pair.accessToken, PASSWORD)).statusCode).toBe(204)
  })

  it.each([
    ['a short new password', { currentPassword: PASSWORD, newPassword: 'short' }],
    ['an over-long new password', { currentPassword: PASSWORD, newPassword: 'x'.repeat(129) }],
    ['no current password', { newPassword: NEW_PASSWORD }],
    ['an unknown field', { currentPassword: PASSWORD, newPassword: NEW_PASSWORD, extra: 1 }],
  ])('answers 400 VALIDATION_FAILED for %s', async (_name, payload) => {
    const user = await signIn(app)
    const res = await authed(app, 'POST', '/auth/password', user.pair.accessToken, payload)
    expect(res.statusCode).toBe(400)
    expect(res.json().code).toBe('VALIDATION_FAILED')
    expect(await loginStatus(user.identifier, PASSWORD)).toBe(200)
  })

  it.each([
    ['no bearer token', undefined, 'TOKEN_MISSING'],
    ['a malformed token', 'not-a-jwt', 'TOKEN_INVALID'],
  ])('answers 401 for %s', async (_name, token, code) => {
    const res = await app.inject({
      method: 'POST',
      url: '/auth/password',
      ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}),
      payload: { currentPassword: PASSWORD, newPassword: NEW_PASSWORD },
    })
    expect(res.statusCode).toBe(401)
    expect(res.json().code).toBe(code)
  })

  it('answers 401 TOKEN_REVOKED from a revoked session (the password stays)', async () => {
    const user = await signIn(app)
    await authed(app, 'POST', '/auth/logout', user.pair.accessToken)
    const res = await changePassword(user.pair.accessToken, PASSWORD)
    expect(res.json().code).toBe('TOKEN_REVOKED')
    expect(await loginStatus(user.identifier, PASSWORD)).toBe(200)
  })

  it('never logs either password', async () => {
    const lines: string[] = []
    const logged = await startApp(
      { ...config, LOG_LEVEL: 'info' },
      { logStream: { write: (l) => void lines.push(l) }, background: false },
    )
    try {
      const user = await register(logged)
      const pair = await login(logged, user.identifier)
      await authed(logged, 'POST', '/auth/password', pair.accessToken, {
        currentPassword: 'wrong current one',
        newPassword: 'secret new one',
      })
      await authed(logged, 'POST', '/auth/password', pair.accessToken, {
        currentPassword: PASSWORD,
        newPassword: 'secret new one',
      })
    } finally {
      await logged.close()
    }
    const log = lines.join('\n')
    expect(log).toContain('/auth/password')
    for (const secret of [PASSWORD, 'wrong current one', 'secret new one']) expect(log).not.toContain(secret)
  })
})
