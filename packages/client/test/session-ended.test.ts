import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { AuthError } from '../src/index.ts'
import { parseRecord } from '../src/session-record.ts'
import { clientFor } from './helpers/client.ts'
import { type FakeTokenService, startFakeTokenService, USER } from './helpers/fake-token-service.ts'
import { expireStoredSession, STORAGE_KEY, storedSession } from './helpers/session.ts'

async function settle<T>(promises: Promise<T>[]) {
  const results = await Promise.allSettled(promises)
  return results.map((r) => (r.status === 'rejected' ? (r.reason as AuthError) : undefined))
}

describe('session ending', () => {
  let service: FakeTokenService
  beforeEach(async () => {
    service = await startFakeTokenService({ graceMs: 0 })
  })
  afterEach(() => service.close())

  it('ends the session once with TOKEN_REUSED when a stolen refresh token was used first', async () => {
    const { auth, storage, ended } = clientFor(service)
    await auth.login(USER)
    const stolen = (await storedSession(storage)).refreshToken
    const thief = await fetch(`${service.baseUrl}/auth/refresh-token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refreshToken: stolen }),
    })
    expect(thief.status).toBe(200)
    await expireStoredSession(storage)

    const errors = await settle(Array.from({ length: 20 }, () => auth.getAccessToken()))

    expect(errors.every((e) => e instanceof AuthError && e.code === 'TOKEN_REUSED' && e.status === 401)).toBe(
      true,
    )
    expect(ended).toEqual(['TOKEN_REUSED'])
    expect(service.refreshes).toBe(2) // the thief's and ours
    const raw = String(await storage.get(STORAGE_KEY))
    expect(raw).not.toContain(stolen)
    expect(parseRecord(raw)).toMatchObject({ endedReason: 'TOKEN_REUSED' })
    await expect(auth.getAccessToken()).rejects.toMatchObject({ code: 'NOT_AUTHENTICATED' })
    expect(ended).toEqual(['TOKEN_REUSED'])
  })

  it.each(['TOKEN_REVOKED', 'TOKEN_EXPIRED', 'DEVICE_MISMATCH', 'TOKEN_INVALID'])(
    'ends the session once when a refresh answers %s',
    async (code) => {
      const { auth, storage, ended } = clientFor(service)
      await auth.login(USER)
      service.failNextRefresh(401, code)
      await expireStoredSession(storage)

      const errors = await settle(Array.from({ length: 5 }, () => auth.fetch(`${service.baseUrl}/api/echo`)))

      expect(errors.map((e) => e?.code)).toEqual(Array(5).fill(code))
      expect(ended).toEqual([code])
      expect(await auth.getSession()).toBeNull()
    },
  )

  it('ends the session once when revoked elsewhere and the next refresh says TOKEN_REVOKED', async () => {
    const { auth, storage, ended } = clientFor(service)
    const { sessionId } = await auth.login(USER)
    service.revokeSession(sessionId)
    await expireStoredSession(storage)

    await expect(auth.getAccessToken()).rejects.toMatchObject({ code: 'TOKEN_REVOKED' })
    await expect(auth.getAccessToken()).rejects.toMatchObject({ code: 'NOT_AUTHENTICATED' })
    expect(ended).toEqual(['TOKEN_REVOKED'])
  })

  it('ends the session once when ordinary token-service calls answer 401 TOKEN_REVOKED', async () => {
    const { auth, ended } = clientFor(service)
    const { sessionId } = await auth.login(USER)
    service.revokeSession(sessionId)

    const responses = await Promise.all(
      Array.from({ length: 10 }, () => auth.fetch(`${service.baseUrl}/auth/me`)),
    )

    expect(responses.map((r) => r.status)).toEqual(Array(10).fill(401))
    expect(ended).toEqual(['TOKEN_REVOKED'])
    expect(await auth.getSession()).toBeNull()
    expect(service.refreshes).toBe(0)
  })

  it('trusts a resource server saying TOKEN_REVOKED only when the token service agrees', async () => {
    const resource = createServer((_req, res) => {
      res.writeHead(401, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ statusCode: 401, code: 'TOKEN_REVOKED', message: 'revoked' }))
    })
    await new Promise<void>((r) => resource.listen(0, '127.0.0.1', r))
    const origin = `http://127.0.0.1:${(resource.address() as AddressInfo).port}`
    const url = `${origin}/analytics/user`
    try {
      const { auth, ended } = clientFor(service, { allowedOrigins: [origin] })
      const { sessionId } = await auth.login(USER)

      expect((await auth.fetch(url)).status).toBe(401)
      expect(ended).toEqual([]) // the token service still accepts the session
      expect(await auth.getSession()).not.toBeNull()

      service.revokeSession(sessionId)
      expect((await auth.fetch(url)).status).toBe(401)
      expect(ended).toEqual(['TOKEN_REVOKED'])
    } finally {
      resource.closeAllConnections()
      await new Promise((r) => resource.close(r))
    }
  })

  it('stops notifying a listener after it unsubscribes', async () => {
    const { auth, storage } = clientFor(service)
    const seen: string[] = []
    const unsubscribe = auth.on('sessionEnded', (reason) => seen.push(reason))
    await auth.login(USER)
    unsubscribe()
    service.failNextRefresh(401, 'TOKEN_REVOKED')
    await expireStoredSession(storage)
    await expect(auth.getAccessToken()).rejects.toBeInstanceOf(AuthError)
    expect(seen).toEqual([])
  })

  it('keeps the session through a transient refresh failure while the token is still valid', async () => {
    await service.close()
    service = await startFakeTokenService({ accessTtlMs: 2_000 })
    const { auth, ended } = clientFor(service, { refreshMargin: 60 })
    await auth.login(USER)
    const token = await auth.getAccessToken()
    await new Promise((r) => setTimeout(r, 1_050)) // inside the margin, not expired
    service.failNextRefresh(503, 'DEPENDENCY_UNAVAILABLE')

    expect(await auth.getAccessToken()).toBe(token)
    expect(ended).toEqual([])
    expect(await auth.getAccessToken()).not.toBe(token) // the next call refreshes
  })

  it('rejects with the transient error once the token has actually expired', async () => {
    const { auth, storage, ended } = clientFor(service)
    await auth.login(USER)
    await expireStoredSession(storage)
    service.failNextRefresh(429, 'RATE_LIMITED', { 'retry-after': '7' })

    await expect(auth.getAccessToken()).rejects.toMatchObject({
      code: 'RATE_LIMITED',
      status: 429,
      retryAfter: 7,
    })
    expect(ended).toEqual([])
    expect(await auth.getAccessToken()).toEqual(expect.any(String))
  })
})
