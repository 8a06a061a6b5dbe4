import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { clientFor } from './helpers/client.ts'
import { type FakeTokenService, startFakeTokenService, USER } from './helpers/fake-token-service.ts'
import { expireStoredSession, storedSession } from './helpers/session.ts'

describe('token refresh', () => {
  let service: FakeTokenService
  beforeEach(async () => {
    service = await startFakeTokenService()
  })
  afterEach(() => service.close())

  it('makes exactly one refresh request for 20 concurrent calls after expiry', async () => {
    const { auth, storage } = clientFor(service)
    await auth.login(USER)
    service.expireAccessTokens()
    await expireStoredSession(storage)

    const responses = await Promise.all(
      Array.from({ length: 20 }, () => auth.fetch(`${service.baseUrl}/api/echo`)),
    )

    expect(responses.map((r) => r.status)).toEqual(Array(20).fill(200))
    expect(service.refreshes).toBe(1)
    expect(service.count('GET', '/api/echo')).toBe(20)
  })

  it('hands 20 concurrent getAccessToken callers the same refreshed token', async () => {
    const { auth, storage } = clientFor(service)
    await auth.login(USER)
    const before = await auth.getAccessToken()
    await expireStoredSession(storage)

    const tokens = await Promise.all(Array.from({ length: 20 }, () => auth.getAccessToken()))

    expect(new Set(tokens).size).toBe(1)
    expect(tokens[0]).not.toBe(before)
    expect(service.refreshes).toBe(1)
  })

  it('refreshes proactively inside refreshMargin, before the service would refuse the token', async () => {
    await service.close()
    service = await startFakeTokenService({ accessTtlMs: 2_000 })
    const { auth } = clientFor(service, { refreshMargin: 1.5 }) // capped at half the lifetime: 1 s
    await auth.login(USER)
    const first = await auth.getAccessToken()
    expect(service.refreshes).toBe(0)

    await new Promise((r) => setTimeout(r, 1_050))
    const second = await auth.getAccessToken()

    expect(second).not.toBe(first)
    expect(service.refreshes).toBe(1)
  })

  it('refreshes once and retries once after 401 TOKEN_EXPIRED', async () => {
    const { auth, storage } = clientFor(service)
    await auth.login(USER)
    const stale = (await storedSession(storage)).accessToken
    service.expireAccessTokens() // the client still believes its token is valid

    const response = await auth.fetch(`${service.baseUrl}/api/echo`)

    expect(response.status).toBe(200)
    expect(service.refreshes).toBe(1)
    const echoes = service.requests.filter((r) => r.url === '/api/echo')
    expect(echoes.map((r) => r.authorization)).toEqual([
      `Bearer ${stale}`,
      `Bearer ${(await storedSession(storage)).accessToken}`,
    ])
  })

  it('retries only once: a second TOKEN_EXPIRED is handed back to the caller', async () => {
    const always = await startFakeTokenService({
      extraRoutes: (_req, res) => {
        res.writeHead(401, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ statusCode: 401, code: 'TOKEN_EXPIRED', message: 'expired' }))
        return true
      },
    })
    const { auth } = clientFor(service, { allowedOrigins: [always.baseUrl] })
    await auth.login(USER)
    try {
      const response = await auth.fetch(`${always.baseUrl}/resource`)
      expect(response.status).toBe(401)
      expect(await response.json()).toMatchObject({ code: 'TOKEN_EXPIRED' })
      expect(always.requests).toHaveLength(2)
      expect(service.refreshes).toBe(1)
    } finally {
      await always.close()
    }
  })

  it('replays a Request object with its body on the retry', async () => {
    const echo = await startFakeTokenService({
      extraRoutes: async (req, res) => {
        const expired = echo.requests.length === 1
        res.writeHead(expired ? 401 : 200, { 'content-type': 'application/json' })
        const last = echo.requests.at(-1)
        res.end(
          JSON.stringify(
            expired ? { code: 'TOKEN_EXPIRED' } : { got: last?.body, auth: !!req.headers.authorization },
          ),
        )
        return true
      },
    })
    try {
      const { auth } = clientFor(service, { allowedOrigins: [echo.baseUrl] })
      await auth.login(USER)
      const request = new Request(`${echo.baseUrl}/upload`, { method: 'POST', body: 'payload' })
      const response = await auth.fetch(request)
      expect(await response.json()).toEqual({ got: 'payload', auth: true })
      expect(echo.requests.map((r) => r.body)).toEqual(['payload', 'payload'])
    } finally {
      await echo.close()
    }
  })

  it.each([
    ['a refresh margin', 0.1],
    ['no refresh margin (relies on the retry)', 0],
  ])(
    'keeps a long-running caller free of 401s with %s',
    async (_name, refreshMargin) => {
      await service.close()
      service = await startFakeTokenService({ accessTtlMs: 300, refreshDelayMs: 5 })
      const { auth, ended } = clientFor(service, { refreshMargin })
      await auth.login(USER)

      // Keep calling through at least four token lifetimes (bounded, so a slow machine cannot hang it).
      const statuses: number[] = []
      const giveUp = Date.now() + 15_000
      while (service.refreshes < 4 && Date.now() < giveUp) {
        const batch = await Promise.all(
          Array.from({ length: 3 }, () => auth.fetch(`${service.baseUrl}/api/echo`)),
        )
        statuses.push(...batch.map((r) => r.status))
        await new Promise((r) => setTimeout(r, 15))
      }

      expect(statuses.filter((s) => s !== 200)).toEqual([])
      expect(service.refreshes).toBeGreaterThanOrEqual(4)
      expect(ended).toEqual([])
    },
    20_000,
  )
})
