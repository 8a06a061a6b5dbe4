import { describe, expect, it } from 'vitest'
import { authed, refresh, signIn, useTestApp } from './helpers/app.ts'

const { app } = useTestApp('smoke')

describe('token service happy path', () => {
  it('registers, logs in, calls me, refreshes, logs out', async () => {
    const { userId, pair } = await signIn(app)
    expect(pair.tokenType).toBe('Bearer')
    expect(pair.expiresIn).toBe(900)
    expect(pair.refreshExpiresIn).toBe(7 * 86400)
    const me = await authed(app, 'GET', '/auth/me', pair.accessToken)
    expect(me.statusCode).toBe(200)
    expect(me.json()).toEqual({ userId, sessionId: pair.sessionId, roles: ['user'] })
    const r = await refresh(app, pair.refreshToken)
    expect(r.statusCode).toBe(200)
    const next = r.json()
    expect(next.sessionId).toBe(pair.sessionId)
    expect(next.refreshToken).not.toBe(pair.refreshToken)
    const out = await authed(app, 'POST', '/auth/logout', next.accessToken)
    expect(out.statusCode).toBe(204)
    const after = await authed(app, 'GET', '/auth/me', next.accessToken)
    expect(after.statusCode).toBe(401)
    expect(after.json().code).toBe('TOKEN_REVOKED')
  })
})
