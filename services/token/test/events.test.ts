import { decodeEvent, type SessionEvent } from '@africhain/events'
import { waitFor } from '@africhain/testing'
import { describe, expect, it } from 'vitest'
import { authed, login, refresh, register, signIn, useTestApp } from './helpers/app.ts'

const { app, config, redis } = useTestApp('events')

async function streamEvents(): Promise<SessionEvent[]> {
  const entries = await redis.xrange(config.EVENTS_STREAM, '-', '+')
  return entries.map(([, fields]) => {
    const decoded = decodeEvent(fields)
    if (!decoded.ok) throw new Error(decoded.reason)
    return decoded.event
  })
}

/** Waits until the relay has published `count` events for the user, then returns them. */
async function eventsOf(userId: string, count: number): Promise<SessionEvent[]> {
  return waitFor(async () => {
    const events = (await streamEvents()).filter((e) => e.userId === userId)
    return events.length >= count ? events : undefined
  }, `${count} events for the user`)
}

describe('session events', () => {
  it('emits exactly one event per state change, with the envelope of docs/api.md', async () => {
    const { userId, pair } = await signIn(app, {
      device: { id: 'd1', platform: 'ussd', name: 'feature phone' },
    })
    const next = (await refresh(app, pair.refreshToken, { id: 'd1', platform: 'ussd' })).json()
    await authed(app, 'POST', '/auth/logout', next.accessToken)
    const events = await eventsOf(userId, 4)
    expect(events.map((e) => e.type).sort()).toEqual(
      ['session.created', 'session.refreshed', 'session.revoked', 'user.registered'].sort(),
    )
    const created = events.find((e) => e.type === 'session.created')!
    expect(created).toMatchObject({
      version: 1,
      userId,
      sessionId: pair.sessionId,
      device: { id: 'd1', platform: 'ussd', name: 'feature phone' },
      ip: '127.0.0.1',
      data: { rememberMe: false },
    })
    expect(new Date((created.data as { expiresAt: string }).expiresAt).getTime()).toBeGreaterThan(Date.now())
    const revoked = events.find((e) => e.type === 'session.revoked')!
    expect(revoked.data).toMatchObject({ reason: 'logout' })
    const until = new Date(
      (revoked.data as { accessTokensValidUntil: string }).accessTokensValidUntil,
    ).getTime()
    expect(until).toBeGreaterThanOrEqual(next.expiresIn * 1000 + Date.now() - 60_000)
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length)
  })

  it('reports reuse with two events: token.reuse_detected and session.revoked (reuse_detected)', async () => {
    const { userId, pair } = await signIn(app)
    const t1 = (await refresh(app, pair.refreshToken)).json()
    await refresh(app, t1.refreshToken)
    expect((await refresh(app, pair.refreshToken)).json().code).toBe('TOKEN_REUSED')
    const events = await eventsOf(userId, 6)
    expect(events.filter((e) => e.type === 'token.reuse_detected')).toHaveLength(1)
    const revoked = events.filter((e) => e.type === 'session.revoked')
    expect(revoked).toHaveLength(1)
    expect(revoked[0]!.data).toMatchObject({ reason: 'reuse_detected' })
  })

  it('reports device mismatches and failed logins (with userId only when the identifier exists)', async () => {
    const { userId, identifier, pair } = await signIn(app, { device: { id: 'A', platform: 'android' } })
    await refresh(app, pair.refreshToken, { id: 'B', platform: 'android' })
    await expect(login(app, identifier, { password: 'wrong password!' })).rejects.toThrow(/401/)
    const events = await eventsOf(userId, 4)
    expect(events.find((e) => e.type === 'session.device_mismatch')?.data).toEqual({ presentedDeviceId: 'B' })
    expect(events.find((e) => e.type === 'login.failed')?.data).toEqual({ reason: 'invalid_credentials' })

    const ghost = `nobody.${Date.now()}@example.com`
    await expect(login(app, ghost)).rejects.toThrow(/401/)
    await waitFor(
      async () => (await streamEvents()).some((e) => e.type === 'login.failed' && e.userId === undefined),
      'an anonymous login.failed',
    )
  })

  it('revocation events carry their reason: revoked, logout_all, admin', async () => {
    const { userId, identifier, pair } = await signIn(app)
    const second = await login(app, identifier)
    const third = await login(app, identifier)
    await authed(app, 'POST', '/auth/revoke-session', pair.accessToken, { sessionId: second.sessionId })
    await authed(app, 'POST', '/auth/logout-all', pair.accessToken, { keepCurrent: true })
    const admin = await register(app)
    await app.db.updateTable('users').set({ roles: 'user admin' }).where('id', '=', admin.userId).execute()
    const adminPair = await login(app, admin.identifier)
    const res = await authed(
      app,
      'POST',
      `/auth/admin/users/${userId}/revoke-sessions`,
      adminPair.accessToken,
    )
    expect(res.json()).toEqual({ revoked: 1 })
    const events = await eventsOf(userId, 7)
    const reasons = events
      .filter((e) => e.type === 'session.revoked')
      .map((e) => [e.sessionId, (e.data as { reason: string }).reason])
    expect(reasons.sort()).toEqual(
      [
        [second.sessionId, 'revoked'],
        [third.sessionId, 'logout_all'],
        [pair.sessionId, 'admin'],
      ].sort(),
    )
  })
})
