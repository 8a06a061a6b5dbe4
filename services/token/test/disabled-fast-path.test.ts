import { afterEach, describe, expect, it, vi } from 'vitest'
import { refresh, signIn, useTestApp } from './helpers/app.ts'

/**
 * The one-round-trip rotation checks `users.disabled_at` itself rather than relying on a disable having
 * revoked every live session: the disable's revocation picks the sessions live by the disabling instance's
 * clock (`expires_at > now`), the rotation's CAS by the refreshing instance's clock. With one instance's
 * clock ahead (attack-clock.test.ts: no NTP, a paused VM), a session that instance deems expired is left
 * unrevoked; no instance may then rotate it for the disabled user, remembered or not.
 */
const { app, apps } = useTestApp('disabled_fast_path', { instances: 2, env: { REFRESH_TOKEN_TTL: '60s' } })

afterEach(() => {
  vi.useRealTimers()
})

describe('a disabled user refreshes nowhere', () => {
  it.each([
    ['the instance that opened the session (its owner remembered: one round trip)', 0],
    ['another instance (the session read first)', 1, 1],
    ['another instance, asked a second time (the refused read remembered the owner)', 1, 2],
  ] as const)(
    'refreshing on %s after a disable by an instance 2 minutes ahead',
    async (_, which, attempts = 1) => {
      const { pair, userId } = await signIn(app)
      vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 120_000 })
      await apps[0].accounts.disable(userId, { actorId: 'cli' }, { ip: '127.0.0.1', userAgent: null })
      vi.useRealTimers()
      for (let i = 0; i < attempts; i++) {
        const res = await refresh(apps[which], pair.refreshToken)
        expect(res.statusCode, `attempt ${i + 1}: ${res.body}`).toBe(403)
        expect(res.json().code).toBe('USER_DISABLED')
      }
    },
  )
})
