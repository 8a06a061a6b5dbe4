import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type AuthClientOptions, createAuthClient, type FetchLike, memoryStorage } from '../src/index.ts'
import { expireStoredSession, storedSession } from './helpers/session.ts'
import { type RunningTokenService, startTokenService } from './helpers/token-service.ts'

const ACCESS_TTL_SECONDS = 2
const GRACE_SECONDS = 1
const PASSWORD = 'correct horse battery'
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * The SDK against the real token service (real Redis and MariaDB, short token lifetimes).
 * The service runs in-process (buildApp) on a database and key prefix of its own.
 */
describe('against the token service', () => {
  let service: RunningTokenService

  beforeAll(async () => {
    service = await startTokenService({
      accessTokenTtl: `${ACCESS_TTL_SECONDS}s`,
      reuseGrace: `${GRACE_SECONDS}s`,
    })
  }, 60_000)
  afterAll(() => service?.close())

  async function newUser() {
    const identifier = `client.${randomBytes(5).toString('hex')}@example.com`
    const res = await fetch(`${service.baseUrl}/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ identifier, password: PASSWORD }),
    })
    expect(res.status).toBe(201)
    return { identifier, password: PASSWORD }
  }

  /** A client whose fetch counts the refresh requests it sends. */
  function client(options: Partial<AuthClientOptions> = {}) {
    const counted = { refreshes: 0, statuses: [] as number[] }
    const countingFetch: FetchLike = async (input, init) => {
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url
      if (url.endsWith('/auth/refresh-token')) counted.refreshes++
      const response = await fetch(input, init)
      counted.statuses.push(response.status)
      return response
    }
    const storage = options.storage ?? memoryStorage()
    const auth = createAuthClient({
      baseUrl: service.baseUrl,
      device: { platform: 'web', name: 'sdk test' },
      locks: null,
      fetch: countingFetch,
      ...options,
      storage,
    })
    const ended: string[] = []
    auth.on('sessionEnded', (reason) => ended.push(reason))
    return { auth, storage, ended, counted }
  }

  it('makes exactly one refresh for 20 concurrent calls after the access token expired', async () => {
    const { auth, counted } = client()
    await auth.login(await newUser())
    await sleep(ACCESS_TTL_SECONDS * 1000 + 200)

    const responses = await Promise.all(
      Array.from({ length: 20 }, () => auth.fetch(`${service.baseUrl}/auth/me`)),
    )

    expect(responses.map((r) => r.status)).toEqual(Array(20).fill(200))
    expect(counted.refreshes).toBe(1)
  }, 20_000)

  it('never shows a long-running caller a 401', async () => {
    const { auth, counted, ended } = client({ refreshMargin: 0.5 })
    const { userId } = await auth.login(await newUser())

    const until = Date.now() + ACCESS_TTL_SECONDS * 3000
    while (Date.now() < until) {
      const batch = await Promise.all(
        Array.from({ length: 3 }, () => auth.fetch(`${service.baseUrl}/auth/me`)),
      )
      for (const response of batch) {
        expect(response.status).toBe(200)
        expect((await response.json()) as { userId: string }).toMatchObject({ userId })
      }
      await sleep(50)
    }

    expect(counted.refreshes).toBeGreaterThanOrEqual(2)
    expect(counted.statuses).not.toContain(401)
    expect(ended).toEqual([])
  }, 30_000)

  it('ends a session revoked elsewhere once, with TOKEN_REVOKED', async () => {
    const user = await newUser()
    const laptop = client()
    const phone = client({ device: { platform: 'android', name: 'phone' } })
    const { sessionId } = await laptop.auth.login(user)
    await phone.auth.login(user)

    await phone.auth.revokeSession(sessionId)
    const responses = await Promise.all(
      Array.from({ length: 10 }, () => laptop.auth.fetch(`${service.baseUrl}/auth/me`)),
    )

    expect(responses.map((r) => r.status)).toEqual(Array(10).fill(401))
    expect(laptop.ended).toEqual(['TOKEN_REVOKED'])
    await expect(laptop.auth.getAccessToken()).rejects.toMatchObject({ code: 'NOT_AUTHENTICATED' })
    expect(phone.ended).toEqual([])
  }, 20_000)

  it('ends the session with TOKEN_REUSED when a stolen refresh token was replayed first', async () => {
    const { auth, storage, ended } = client()
    await auth.login(await newUser())
    const stolen = await storedSession(storage)
    const thief = await fetch(`${service.baseUrl}/auth/refresh-token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        refreshToken: stolen.refreshToken,
        device: { id: stolen.deviceId, platform: 'web' },
      }),
    })
    expect(thief.status).toBe(200)
    await sleep(GRACE_SECONDS * 1000 + 300)
    await expireStoredSession(storage)

    const errors = await Promise.all(
      Array.from({ length: 5 }, () =>
        auth.getAccessToken().then(
          () => undefined,
          (e: unknown) => e,
        ),
      ),
    )

    expect(errors.map((e) => (e as { code?: string }).code)).toEqual(Array(5).fill('TOKEN_REUSED'))
    expect(ended).toEqual(['TOKEN_REUSED'])
    expect(String(await storage.get('africhain.session'))).not.toContain(stolen.refreshToken)
  }, 20_000)
})
