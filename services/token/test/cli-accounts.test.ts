import { describe, expect, it } from 'vitest'
import { authed, login, PASSWORD, refresh, register, signIn, useTestApp } from './helpers/app.ts'
import { runCli } from './helpers/cli.ts'
import { eventsMatching } from './helpers/stream.ts'

// docs/api.md, admin command line: `user:list`, `user:show`, `user:unlock`, `user:set-password`, `user:disable`
// (and `user:enable`), running the admin routes' use cases; events carry `actorId: "cli"`.

const { app, config, redis } = useTestApp('cli-accounts', { env: { LOGIN_LOCK_THRESHOLD: '3' } })
// The CLI on the app's database and Redis namespace: its tombstones and lock keys are the app's.
const env = {
  DATABASE_URL: config.DATABASE_URL,
  REDIS_URL: config.REDIS_URL,
  REDIS_KEY_PREFIX: config.REDIS_KEY_PREFIX ?? '',
}

const loginStatus = async (identifier: string, password = PASSWORD) =>
  (
    await app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { identifier, password, device: { platform: 'web' } },
    })
  ).statusCode

const actorOf = async (userId: string, type: string) =>
  (await eventsMatching(redis, config.EVENTS_STREAM, (e) => e.userId === userId && e.type === type, type))[0]!
    .data

describe('pnpm cli account commands', () => {
  it('user:list prints every user, one JSON line each', async () => {
    const a = await register(app)
    const b = await register(app)
    const res = await runCli(['user:list'], env)
    expect(res.code, res.stderr).toBe(0)
    const lines = res.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    expect(lines).toEqual(
      expect.arrayContaining([
        {
          identifier: a.identifier,
          userId: a.userId,
          roles: ['user'],
          createdAt: expect.any(String),
          disabled: false,
        },
        expect.objectContaining({ identifier: b.identifier, userId: b.userId }),
      ]),
    )
    expect(res.stdout).not.toMatch(/scrypt/)
  })

  it('user:show finds any spelling of the identifier and shows its sessions', async () => {
    const user = await signIn(app)
    const res = await runCli(['user:show', `  ${user.identifier.toUpperCase()} `], env)
    expect(res.code, res.stderr).toBe(0)
    const shown = JSON.parse(res.stdout)
    expect(shown).toMatchObject({
      userId: user.userId,
      identifier: user.identifier,
      locked: false,
      disabled: false,
    })
    expect(shown.sessions.map((s: { sessionId: string }) => s.sessionId)).toEqual([user.pair.sessionId])
  })

  it('user:unlock lifts the lock: the right password logs in again', async () => {
    const user = await register(app)
    for (let i = 0; i < 3; i++) await loginStatus(user.identifier, `wrong ${i}`)
    expect(await loginStatus(user.identifier)).toBe(429)
    expect(JSON.parse((await runCli(['user:show', user.identifier], env)).stdout).locked).toBe(true)
    const res = await runCli(['user:unlock', user.identifier], env)
    expect(res.code, res.stderr).toBe(0)
    expect(await loginStatus(user.identifier)).toBe(200)
    expect(await actorOf(user.userId, 'user.unlocked')).toEqual({ actorId: 'cli' })
  })

  it('user:set-password reads the password from stdin, revokes every session (password_changed)', async () => {
    const user = await signIn(app)
    const password = 'set by the operator ✓'
    const res = await runCli(['user:set-password', user.identifier], env, `${password}\n`)
    expect(res.code, res.stderr).toBe(0)
    expect(JSON.parse(res.stdout)).toEqual({ userId: user.userId, passwordChanged: true, revokedSessions: 1 })
    expect(res.stdout + res.stderr).not.toContain(password)
    expect((await authed(app, 'GET', '/auth/me', user.pair.accessToken)).json().code).toBe('TOKEN_REVOKED')
    expect(await loginStatus(user.identifier)).toBe(401)
    expect(await loginStatus(user.identifier, password)).toBe(200)
    expect(await actorOf(user.userId, 'user.password_changed')).toEqual({ actorId: 'cli' })
    expect(await actorOf(user.userId, 'session.revoked')).toMatchObject({ reason: 'password_changed' })
  })

  it.each([
    ['a short password', 'short\n', /8 to 128 characters/],
    ['nothing', '', /8 to 128 characters/],
  ])('user:set-password refuses %s and changes nothing', async (_name, stdin, message) => {
    const user = await signIn(app)
    const res = await runCli(['user:set-password', user.identifier], env, stdin)
    expect(res.code).toBe(1)
    expect(res.stderr).toMatch(message)
    expect(await loginStatus(user.identifier)).toBe(200)
  })

  it('user:set-password refuses a password on the command line, without echoing it', async () => {
    const user = await register(app)
    const res = await runCli(['user:set-password', user.identifier, '--password=argv-secret-9'], env)
    expect(res.code).toBe(1)
    expect(res.stderr).toMatch(/never taken on the command line/)
    expect(res.stdout + res.stderr).not.toContain('argv-secret-9')
  })

  it('user:disable revokes and refuses login and refresh; user:enable allows login again', async () => {
    const user = await signIn(app)
    const disabled = await runCli(['user:disable', user.identifier], env)
    expect(disabled.code, disabled.stderr).toBe(0)
    expect((await authed(app, 'GET', '/auth/me', user.pair.accessToken)).json().code).toBe('TOKEN_REVOKED')
    expect((await refresh(app, user.pair.refreshToken)).json().code).toBe('USER_DISABLED')
    expect(await loginStatus(user.identifier)).toBe(403)
    expect(await actorOf(user.userId, 'user.disabled')).toEqual({ actorId: 'cli' })

    const enabled = await runCli(['user:enable', user.identifier], env)
    expect(enabled.code, enabled.stderr).toBe(0)
    expect((await login(app, user.identifier)).accessToken).toBeTruthy()
    expect(await actorOf(user.userId, 'user.enabled')).toEqual({ actorId: 'cli' })
  })

  it.each([
    [
      'an unknown user',
      ['user:disable', 'nobody.at.all@example.com'],
      /no user nobody\.at\.all@example\.com/,
    ],
    ['a malformed identifier', ['user:show', 'not an identifier'], /usage: pnpm cli user:show <identifier>/],
    ['no identifier', ['user:unlock'], /usage: pnpm cli user:unlock <identifier>/],
    ['a stray argument', ['user:list', 'extra'], /usage: pnpm cli user:list/],
  ])('exits 1 with a one-line reason for %s (no stack trace)', async (_name, args, message) => {
    const res = await runCli(args, env)
    expect(res.code).toBe(1)
    expect(res.stderr).toMatch(message)
    expect(res.stderr).not.toMatch(/\n\s+at /)
  })

  it('lists the account commands in its help text', async () => {
    const help = await runCli([], env)
    expect(help.code).toBe(1)
    for (const command of [
      'user:list',
      'user:show',
      'user:unlock',
      'user:set-password',
      'user:disable',
      'user:enable',
    ])
      expect(help.stderr).toContain(command)
  })
})
