import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type LockManagerLike, memoryStorage } from '../src/index.ts'
import { clientFor } from './helpers/client.ts'
import { type FakeTokenService, startFakeTokenService, USER } from './helpers/fake-token-service.ts'
import { laggingStorage } from './helpers/lagging-storage.ts'
import { createLockManager } from './helpers/lock-manager.ts'
import { expireStoredSession, storedSession } from './helpers/session.ts'

/** Two clients on one storage and one lock manager model two browser tabs of one origin. */
describe('clients sharing one storage (tabs)', () => {
  let service: FakeTokenService
  beforeEach(async () => {
    // No grace window: a tab that refreshed with an already-rotated token would end the session.
    service = await startFakeTokenService({ graceMs: 0, refreshDelayMs: 50 })
  })
  afterEach(() => service.close())

  function twoTabs() {
    const storage = memoryStorage()
    const locks = createLockManager()
    return {
      storage,
      locks,
      a: clientFor(service, { storage, locks }),
      b: clientFor(service, { storage, locks }),
    }
  }

  it('refreshes once for both tabs; the waiting tab picks up the stored tokens', async () => {
    const { storage, locks, a, b } = twoTabs()
    await a.auth.login(USER)
    await expireStoredSession(storage)

    const tokens = await Promise.all([
      ...Array.from({ length: 10 }, () => a.auth.getAccessToken()),
      ...Array.from({ length: 10 }, () => b.auth.getAccessToken()),
    ])

    expect(service.refreshes).toBe(1)
    expect(new Set(tokens).size).toBe(1)
    expect(tokens[0]).toBe((await storedSession(storage)).accessToken)
    expect(locks.grants).toBe(2) // one per tab: each tab's callers share that tab's flight
    expect(locks.waits).toBe(1) // the second tab really waited for the first
    expect([...a.ended, ...b.ended]).toEqual([])
  })

  it('waits for the winning tab’s tokens to become visible when storage lags behind the lock', async () => {
    const shared = laggingStorage(60)
    const locks = createLockManager()
    const a = clientFor(service, { storage: shared.view(), locks })
    const bStorage = shared.view()
    const b = clientFor(service, { storage: bStorage, locks })
    await a.auth.login(USER)
    await new Promise((r) => setTimeout(r, 80)) // b sees the login
    await expireStoredSession(bStorage)
    await new Promise((r) => setTimeout(r, 80))

    const [ta, tb] = await Promise.all([a.auth.getAccessToken(), b.auth.getAccessToken()])

    expect(ta).toBe(tb)
    expect(service.refreshes).toBe(1)
    expect([...a.ended, ...b.ended]).toEqual([])
  })

  it('without a lock manager both tabs may refresh, and the grace window keeps that safe', async () => {
    service.setGrace(10_000)
    const storage = memoryStorage()
    const a = clientFor(service, { storage, locks: null })
    const b = clientFor(service, { storage, locks: null })
    await a.auth.login(USER)
    await expireStoredSession(storage)

    const [ta, tb] = await Promise.all([a.auth.getAccessToken(), b.auth.getAccessToken()])

    expect(service.refreshes).toBe(2)
    expect([ta, tb].every(Boolean)).toBe(true)
    const session = [...service.sessions.values()][0]!
    expect(session.revoked).toBe(false)
    expect((await storedSession(storage)).refreshToken).toBe(session.current) // one chain, no fork
  })

  it('tells the other tab why the session ended, once', async () => {
    const { storage, a, b } = twoTabs()
    await a.auth.login(USER)
    await b.auth.getAccessToken() // b has seen the session alive
    service.failNextRefresh(401, 'TOKEN_REUSED')
    await expireStoredSession(storage)

    await expect(a.auth.getAccessToken()).rejects.toMatchObject({ code: 'TOKEN_REUSED' })
    await expect(b.auth.getAccessToken()).rejects.toMatchObject({ code: 'TOKEN_REUSED' })
    await expect(b.auth.getAccessToken()).rejects.toMatchObject({ code: 'NOT_AUTHENTICATED' })

    expect(a.ended).toEqual(['TOKEN_REUSED'])
    expect(b.ended).toEqual(['TOKEN_REUSED'])
    expect(service.refreshes).toBe(1)
  })

  it('reports a logout in one tab to the other as LOGGED_OUT, and not to the tab that logged out', async () => {
    const { a, b } = twoTabs()
    await a.auth.login(USER)
    expect(await b.auth.getSession()).not.toBeNull()

    await a.auth.logout()

    expect(await b.auth.getSession()).toBeNull()
    expect(a.ended).toEqual([])
    expect(b.ended).toEqual(['LOGGED_OUT'])
  })

  it('lets a tab that was never signed in pick up a login made in another tab', async () => {
    const { a, b } = twoTabs()
    await expect(b.auth.getAccessToken()).rejects.toMatchObject({ code: 'NOT_AUTHENTICATED' })
    const { sessionId } = await a.auth.login(USER)
    expect(await b.auth.getSession()).toEqual({ userId: 'user-1', sessionId })
    expect(b.ended).toEqual([])
  })
})

// Compile-time check: the DOM's LockManager (navigator.locks) fits the SDK's lock port.
export const domLocksFit: (locks: LockManager) => LockManagerLike = (locks) => locks
