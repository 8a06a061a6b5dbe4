import { waitFor } from '@africhain/testing'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { type Pair, refresh, signIn, useTestApp } from './helpers/app.ts'

// One instance's clock is off from the others (no NTP, a paused VM). The grace window for re-presenting the
// previous refresh token is judged on the database's clock, so the skew moves it neither way.
const { app } = useTestApp('attack_clock', { env: { REFRESH_REUSE_GRACE: '2s' } })

afterEach(() => {
  vi.useRealTimers()
})

/** Skews this process's `Date` (what the service reads as "now"); timers and the database keep real time. */
const skew = (ms: number) => {
  vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + ms })
}

describe('clock skew between instances', () => {
  it.each([
    ['20 s ahead', 20_000],
    ['2 minutes ahead', 120_000],
  ])('an instance %s still grants a retry of the previous token inside the grace window', async (_n, ms) => {
    const { pair } = await signIn(app)
    const next: Pair = (await refresh(app, pair.refreshToken)).json()
    skew(ms)
    const retry = await refresh(app, pair.refreshToken)
    expect(retry.statusCode).toBe(200)
    expect(retry.json().refreshToken).toBe(next.refreshToken)
  })

  it.each([
    ['20 s behind', -20_000],
    ['2 minutes behind', -120_000],
  ])('an instance %s does not stretch the grace window for a replay', async (_n, ms) => {
    const { pair } = await signIn(app)
    await refresh(app, pair.refreshToken)
    const rotatedAt = Date.now()
    // Past the grace window in real time (a poll on the wall clock, not a fixed sleep).
    await waitFor(async () => Date.now() - rotatedAt > 2_300 || undefined, 'the grace window to pass', 5_000)
    skew(ms)
    const replay = await refresh(app, pair.refreshToken)
    expect(replay.statusCode).toBe(401)
    expect(replay.json().code).toBe('TOKEN_REUSED')
  })
})
