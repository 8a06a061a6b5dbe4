import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { AuthError, createAuthClient, isAuthError } from '../src/index.ts'
import { clientFor } from './helpers/client.ts'
import { type FakeTokenService, startFakeTokenService, USER } from './helpers/fake-token-service.ts'
import { expireStoredSession, storedSession } from './helpers/session.ts'

describe('client API', () => {
  let service: FakeTokenService
  beforeEach(async () => {
    service = await startFakeTokenService()
  })
  afterEach(() => service.close())

  it('lists sessions, revokes another one, then the current one', async () => {
    const phone = clientFor(service, { device: { platform: 'android' } })
    const web = clientFor(service)
    const { sessionId: phoneSession } = await phone.auth.login(USER)
    const { sessionId: webSession } = await web.auth.login(USER)

    const sessions = await web.auth.sessions()
    expect(sessions.map((s) => [s.sessionId, s.current]).sort()).toEqual(
      [
        [phoneSession, false],
        [webSession, true],
      ].sort(),
    )

    await web.auth.revokeSession(phoneSession)
    expect((await web.auth.sessions()).map((s) => s.sessionId)).toEqual([webSession])
    await expect(web.auth.revokeSession(phoneSession)).rejects.toMatchObject({
      code: 'SESSION_NOT_FOUND',
      status: 404,
    })

    await web.auth.revokeSession(webSession)
    expect(await web.auth.getSession()).toBeNull()
    expect(web.ended).toEqual([]) // the app asked for it
  })

  it('logs out: the service revokes the session and the local tokens are gone', async () => {
    const { auth, ended } = clientFor(service)
    const { sessionId } = await auth.login(USER)
    await auth.logout()
    expect(service.sessions.get(sessionId)?.revoked).toBe(true)
    await expect(auth.getAccessToken()).rejects.toMatchObject({ code: 'NOT_AUTHENTICATED' })
    await auth.logout() // twice is fine
    expect(ended).toEqual([])
  })

  it('clears the local session on logout even when the service cannot be reached, and says so', async () => {
    const { auth, storage } = clientFor(service)
    await auth.login(USER)
    await service.close()
    await expect(auth.logout()).rejects.toMatchObject({ name: 'AuthError', code: 'NETWORK_ERROR' })
    expect(await storage.get('africhain.session')).not.toContain('refreshToken')
    service = await startFakeTokenService() // for afterEach
  })

  it('logs out everywhere, keeping the current session when asked', async () => {
    const a = clientFor(service)
    const b = clientFor(service)
    const c = clientFor(service)
    await a.auth.login(USER)
    await b.auth.login(USER)
    await c.auth.login(USER)

    expect(await c.auth.logoutAll({ keepCurrent: true })).toEqual({ revoked: 2 })
    expect(await c.auth.getSession()).not.toBeNull()
    expect(await c.auth.logoutAll()).toEqual({ revoked: 1 })
    expect(await c.auth.getSession()).toBeNull()
  })

  it('refreshes before a token-service call when the access token is due', async () => {
    const { auth, storage } = clientFor(service)
    await auth.login(USER)
    await expireStoredSession(storage)
    expect(await auth.sessions()).toHaveLength(1)
    expect(service.refreshes).toBe(1)
  })

  it('rejects login with INVALID_CREDENTIALS as a typed AuthError', async () => {
    const { auth } = clientFor(service)
    const error = await auth.login({ ...USER, password: 'wrong password' }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(AuthError)
    expect(isAuthError(error)).toBe(true)
    expect(error).toMatchObject({ name: 'AuthError', code: 'INVALID_CREDENTIALS', status: 401 })
    expect(String(error)).not.toContain('wrong password')
  })

  it('sends rememberMe only when given', async () => {
    const { auth } = clientFor(service)
    await auth.login(USER)
    await auth.login({ ...USER, rememberMe: true })
    const bodies = service.requests.filter((r) => r.url === '/auth/login').map((r) => JSON.parse(r.body))
    expect(bodies.map((b) => b.rememberMe)).toEqual([undefined, true])
  })

  it('rejects with NETWORK_ERROR when the service is unreachable', async () => {
    await service.close()
    const { auth } = clientFor(service)
    await expect(auth.login(USER)).rejects.toMatchObject({ code: 'NETWORK_ERROR', status: 0 })
    service = await startFakeTokenService()
  })

  it('aborts a hung refresh after requestTimeout, so it cannot hold the lock forever', async () => {
    await service.close()
    service = await startFakeTokenService({ refreshDelayMs: 2_000 })
    const { auth: signedIn, storage } = clientFor(service)
    await signedIn.login(USER)
    const { auth, ended } = clientFor(service, { storage, requestTimeout: 200 })
    await expireStoredSession(storage)
    await expect(auth.getAccessToken()).rejects.toMatchObject({ code: 'NETWORK_ERROR' })
    expect(ended).toEqual([])
  })

  it('rejects a malformed token pair with UNEXPECTED_RESPONSE', async () => {
    const auth = createAuthClient({
      baseUrl: 'http://service.invalid',
      locks: null,
      fetch: async () => Response.json({ accessToken: 'x' }),
    })
    await expect(auth.login(USER)).rejects.toMatchObject({ code: 'UNEXPECTED_RESPONSE' })
  })

  it('refuses options it cannot work with', () => {
    expect(() => createAuthClient({ baseUrl: service.baseUrl, refreshMargin: -1 })).toThrow(TypeError)
    expect(() => createAuthClient({} as { baseUrl: string })).toThrow(/baseUrl/)
  })

  it('only knows the sessionEnded event', () => {
    const { auth } = clientFor(service)
    expect(() => auth.on('other' as 'sessionEnded', () => {})).toThrow(TypeError)
  })
})

describe('tokens never leak', () => {
  let service: FakeTokenService
  beforeEach(async () => {
    service = await startFakeTokenService({ graceMs: 0 })
  })
  afterEach(() => service.close())

  it('keeps tokens out of URLs, error messages and console output', async () => {
    const logged: string[] = []
    const methods = ['log', 'info', 'warn', 'error', 'debug'] as const
    const originals = methods.map((m) => console[m])
    for (const m of methods) console[m] = (...args: unknown[]) => void logged.push(args.map(String).join(' '))
    const errors: unknown[] = []
    const tokens: string[] = []
    try {
      const { auth, storage } = clientFor(service)
      await auth.login(USER)
      const first = await storedSession(storage)
      tokens.push(first.accessToken, first.refreshToken)
      await expireStoredSession(storage)
      await auth.getAccessToken()
      const second = await storedSession(storage)
      tokens.push(second.accessToken, second.refreshToken)
      // Replay the first refresh token ourselves, then make the client present a stale one too.
      await storage.set('africhain.session', JSON.stringify({ ...second, refreshToken: first.refreshToken }))
      await expireStoredSession(storage)
      errors.push(await auth.getAccessToken().catch((e: unknown) => e))
      errors.push(await auth.fetch(`${service.baseUrl}/api/echo`).catch((e: unknown) => e))
      errors.push(await auth.login({ ...USER, password: 'nope nope' }).catch((e: unknown) => e))
    } finally {
      methods.forEach((m, i) => {
        console[m] = originals[i]!
      })
    }
    expect(errors.map((e) => (e as AuthError).code)).toEqual([
      'TOKEN_REUSED',
      'NOT_AUTHENTICATED',
      'INVALID_CREDENTIALS',
    ])
    const visible = [
      ...service.requests.map((r) => r.url),
      ...errors.map((e) => `${String(e)} ${(e as Error).stack} ${String((e as Error).cause)}`),
      ...logged,
    ].join('\n')
    for (const token of tokens) expect(visible).not.toContain(token)
  })

  it('scrubs anything token-shaped out of a service message', async () => {
    const jwt = 'eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ1c2VyLTEiLCJleHAiOjF9.c2lnbmF0dXJlc2lnbmF0dXJl'
    const auth = createAuthClient({
      baseUrl: 'http://service.invalid',
      locks: null,
      fetch: async () =>
        Response.json(
          { code: 'TOKEN_INVALID', message: `bad token ${jwt} or ${'A'.repeat(43)}` },
          { status: 401 },
        ),
    })
    const error = (await auth.login(USER).catch((e: unknown) => e)) as AuthError
    expect(error.message).toBe('TOKEN_INVALID: POST /auth/login: bad token [redacted] or [redacted]')
  })
})
