import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import {
  type AsyncStorageLike,
  asyncStorageAdapter,
  localStorageAdapter,
  memoryStorage,
  type WebStorageLike,
} from '../src/index.ts'
import { clientFor } from './helpers/client.ts'
import { type FakeTokenService, startFakeTokenService, USER } from './helpers/fake-token-service.ts'
import { expireStoredSession, STORAGE_KEY } from './helpers/session.ts'

function webStorage(): WebStorageLike & { map: Map<string, string> } {
  const map = new Map<string, string>()
  return {
    map,
    getItem: (k) => map.get(k) ?? null,
    setItem: (k, v) => void map.set(k, v),
    removeItem: (k) => void map.delete(k),
  }
}

/** AsyncStorage-like: every call resolves on a later tick, as the React Native bridge does. */
function asyncStore(): AsyncStorageLike & { map: Map<string, string> } {
  const map = new Map<string, string>()
  const later = <T>(f: () => T) => new Promise<T>((r) => setTimeout(() => r(f()), 1))
  return {
    map,
    getItem: (k) => later(() => map.get(k) ?? null),
    setItem: (k, v) => later(() => map.set(k, v)),
    removeItem: (k) => later(() => map.delete(k)),
  }
}

describe('storage adapters', () => {
  it('memoryStorage keeps, returns and removes values', async () => {
    const s = memoryStorage()
    await s.set('k', 'v')
    expect(await s.get('k')).toBe('v')
    await s.remove('k')
    expect(await s.get('k')).toBeUndefined()
  })

  it('localStorageAdapter maps onto a Web Storage object', async () => {
    const web = webStorage()
    const s = localStorageAdapter(web)
    await s.set('k', 'v')
    expect(web.map.get('k')).toBe('v')
    expect(await s.get('k')).toBe('v')
    await s.remove('k')
    expect(await s.get('k')).toBeNull()
  })

  it('localStorageAdapter defaults to globalThis.localStorage and says so when it is missing', async () => {
    const web = webStorage()
    vi.stubGlobal('localStorage', web)
    try {
      await localStorageAdapter().set('k', 'v')
      expect(web.map.get('k')).toBe('v')
    } finally {
      vi.unstubAllGlobals()
    }
    vi.stubGlobal('localStorage', undefined)
    try {
      expect(() => localStorageAdapter()).toThrow(/no Web Storage/)
    } finally {
      vi.unstubAllGlobals()
    }
  })

  it('asyncStorageAdapter maps onto an AsyncStorage-style store', async () => {
    const store = asyncStore()
    const s = asyncStorageAdapter(store)
    await s.set('k', 'v')
    expect(store.map.get('k')).toBe('v')
    expect(await s.get('k')).toBe('v')
    await s.remove('k')
    expect(await s.get('k')).toBeNull()
  })
})

describe('the client on each storage', () => {
  let service: FakeTokenService
  beforeEach(async () => {
    service = await startFakeTokenService()
  })
  afterEach(() => service.close())

  it.each([
    ['memory', () => memoryStorage()],
    ['localStorage', () => localStorageAdapter(webStorage())],
    ['AsyncStorage', () => asyncStorageAdapter(asyncStore())],
  ])('logs in, refreshes and logs out with %s storage', async (_name, makeStorage) => {
    const storage = makeStorage()
    const { auth } = clientFor(service, { storage })
    const { sessionId, userId } = await auth.login(USER)
    expect(userId).toBe('user-1')

    const record = JSON.parse(String(await storage.get(STORAGE_KEY)))
    expect(Object.keys(record).sort()).toEqual(
      [
        'accessToken',
        'deviceId',
        'expiresAt',
        'issuedAt',
        'refreshExpiresAt',
        'refreshToken',
        'sessionId',
        'userId',
        'v',
      ].sort(),
    )
    expect(record).toMatchObject({ sessionId, userId })

    await expireStoredSession(storage)
    expect((await auth.fetch(`${service.baseUrl}/api/echo`)).status).toBe(200)
    expect(service.refreshes).toBe(1)

    await auth.logout()
    expect(String(await storage.get(STORAGE_KEY))).not.toContain(record.refreshToken)
    await expect(auth.getAccessToken()).rejects.toMatchObject({ code: 'NOT_AUTHENTICATED' })
  })

  it('resumes a stored session in a new client (app restart)', async () => {
    const storage = asyncStorageAdapter(asyncStore())
    const { sessionId } = await clientFor(service, { storage }).auth.login(USER)
    const restarted = clientFor(service, { storage })
    expect(await restarted.auth.getSession()).toEqual({ userId: 'user-1', sessionId })
    expect((await restarted.auth.fetch(`${service.baseUrl}/api/echo`)).status).toBe(200)
  })

  it('treats an unreadable record as signed out', async () => {
    const storage = memoryStorage()
    await storage.set(STORAGE_KEY, '{not json')
    const { auth } = clientFor(service, { storage })
    await expect(auth.getAccessToken()).rejects.toMatchObject({ code: 'NOT_AUTHENTICATED' })
    expect(await auth.getSession()).toBeNull()
  })

  it('honours a custom storageKey', async () => {
    const storage = memoryStorage()
    const { auth } = clientFor(service, { storage, storageKey: 'app.auth' })
    await auth.login(USER)
    expect(await storage.get('app.auth')).toContain('"sessionId"')
    expect(await storage.get('app.auth.device')).toEqual(expect.any(String))
    expect(await storage.get(STORAGE_KEY)).toBeUndefined()
  })
})

describe('device id', () => {
  let service: FakeTokenService
  beforeEach(async () => {
    service = await startFakeTokenService()
  })
  afterEach(() => service.close())

  const bodies = (path: string) =>
    service.requests
      .filter((r) => r.url === path)
      .map((r) => JSON.parse(r.body) as { device?: { id?: string } })

  it('is generated once, persisted, and presented on every login and refresh', async () => {
    const storage = memoryStorage()
    const first = clientFor(service, { storage })
    await first.auth.login(USER)
    const deviceId = String(await storage.get(`${STORAGE_KEY}.device`))
    expect(deviceId).toMatch(/^[0-9a-f-]{36}$/)

    await expireStoredSession(storage)
    await first.auth.getAccessToken()
    const second = clientFor(service, { storage }) // same install, another client object
    await second.auth.login(USER)

    expect(bodies('/auth/login').map((b) => b.device?.id)).toEqual([deviceId, deviceId])
    expect(bodies('/auth/refresh-token').map((b) => b.device)).toEqual([
      { id: deviceId, platform: 'web', name: 'test' },
    ])
  })

  it('uses the id the app passes', async () => {
    const { auth, storage } = clientFor(service, { device: { id: 'phone-42', platform: 'android' } })
    await auth.login(USER)
    expect(bodies('/auth/login')[0]?.device).toEqual({ id: 'phone-42', platform: 'android' })
    expect(await storage.get(`${STORAGE_KEY}.device`)).toBeUndefined()
  })

  it('falls back to getRandomValues where crypto.randomUUID is missing (React Native)', async () => {
    const real = globalThis.crypto
    vi.stubGlobal('crypto', { getRandomValues: (b: Uint8Array) => real.getRandomValues(b) })
    try {
      const { auth, storage } = clientFor(service)
      await auth.login(USER)
      expect(String(await storage.get(`${STORAGE_KEY}.device`))).toMatch(
        /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      )
    } finally {
      vi.unstubAllGlobals()
    }
  })
})
