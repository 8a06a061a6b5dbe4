import { waitFor } from '@africhain/testing'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { hashRefreshToken } from '../src/domain/refresh-token.ts'
import { authed, type Pair, refresh, signIn, useTestApp } from './helpers/app.ts'

// Two app instances on one database and one Redis prefix: two token-service replicas behind a balancer.
const {
  apps: [a, b],
} = useTestApp('rotation', { env: { REFRESH_REUSE_GRACE: '2s' }, instances: 2 })

const ok = async (res: Awaited<ReturnType<typeof refresh>>): Promise<Pair> => {
  expect(res.statusCode, res.body).toBe(200)
  return res.json()
}

describe('refresh rotation', () => {
  it('rotates: a new refresh token and a working access token for the same session', async () => {
    const { pair } = await signIn(a)
    const next = await ok(await refresh(a, pair.refreshToken))
    expect(next.sessionId).toBe(pair.sessionId)
    expect(next.refreshToken).not.toBe(pair.refreshToken)
    expect(next.accessToken).not.toBe(pair.accessToken)
    expect((await authed(b, 'GET', '/auth/me', next.accessToken)).statusCode).toBe(200)
    const third = await ok(await refresh(b, next.refreshToken))
    expect(third.refreshToken).not.toBe(next.refreshToken)
  })

  it('forgives the immediately previous token inside the grace window with the same successor', async () => {
    const { pair } = await signIn(a)
    const first = await ok(await refresh(a, pair.refreshToken))
    const replay = await ok(await refresh(b, pair.refreshToken))
    expect(replay.refreshToken).toBe(first.refreshToken)
    expect((await authed(a, 'GET', '/auth/me', replay.accessToken)).statusCode).toBe(200)
    // The chain continues from that one successor.
    expect((await refresh(a, first.refreshToken)).statusCode).toBe(200)
  })

  it('treats any older token as reuse: 401 TOKEN_REUSED and the whole session dies', async () => {
    const { pair } = await signIn(a)
    const t1 = await ok(await refresh(a, pair.refreshToken))
    const t2 = await ok(await refresh(a, t1.refreshToken))
    const reused = await refresh(b, pair.refreshToken) // two generations back: never forgiven
    expect(reused.statusCode).toBe(401)
    expect(reused.json().code).toBe('TOKEN_REUSED')
    const current = await refresh(a, t2.refreshToken)
    expect(current.statusCode).toBe(401)
    expect(current.json().code).toBe('TOKEN_REVOKED')
    const me = await authed(b, 'GET', '/auth/me', t2.accessToken)
    expect(me.json().code).toBe('TOKEN_REVOKED')
  })

  it('treats the previous token after the grace window as reuse', async () => {
    const { pair } = await signIn(a)
    const rotatedAt = Date.now()
    const t1 = await ok(await refresh(a, pair.refreshToken))
    // The grace window is a wall-clock rule: wait until it has certainly passed.
    await waitFor(() => Date.now() > rotatedAt + 2_200, 'the grace window to pass', 5_000)
    const late = await refresh(a, pair.refreshToken)
    expect(late.json().code).toBe('TOKEN_REUSED')
    expect((await refresh(a, t1.refreshToken)).json().code).toBe('TOKEN_REVOKED')
  })

  it('N concurrent refreshes of one token on two instances all succeed with one identical successor', async () => {
    const { pair } = await signIn(a)
    const results = await Promise.all(
      Array.from({ length: 24 }, (_, i) => refresh(i % 2 === 0 ? a : b, pair.refreshToken)),
    )
    const bodies = await Promise.all(results.map(ok))
    const successors = new Set(bodies.map((r) => r.refreshToken))
    expect(successors.size).toBe(1)
    // One chain: the successor works, and after that rotation the original token is reuse.
    const [successor] = successors
    expect((await refresh(b, successor!)).statusCode).toBe(200)
  })

  it('never forks a session, whatever the mix of concurrent presentations (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 2 })), { minLength: 2, maxLength: 12 }),
        async (presentations) => {
          const { pair } = await signIn(a)
          const t1 = await ok(await refresh(a, pair.refreshToken))
          const t2 = await ok(await refresh(a, t1.refreshToken))
          const chain = [pair.refreshToken, t1.refreshToken, t2.refreshToken]
          const results = await Promise.all(
            presentations.map(([onA, index]) => refresh(onA ? a : b, chain[index]!)),
          )
          // Every success for the same presented token carried the same successor…
          for (const index of [0, 1, 2]) {
            const successors = new Set(
              results
                .filter((r, i) => presentations[i]![1] === index && r.statusCode === 200)
                .map((r) => r.json().refreshToken),
            )
            expect(successors.size).toBeLessThanOrEqual(1)
          }
          // …and no second live branch was ever issued: every token handed out is chain[2] (the previous
          // token's successor) or one successor of chain[2], and a live session's current hash is that one's.
          const issued = new Set(
            results.filter((r) => r.statusCode === 200).map((r) => r.json().refreshToken as string),
          )
          issued.delete(chain[2]!)
          expect(issued.size).toBeLessThanOrEqual(1)
          const row = await a.db
            .selectFrom('sessions')
            .select(['current_hash', 'revoked_at'])
            .where('id', '=', pair.sessionId)
            .executeTakeFirstOrThrow()
          if (row.revoked_at === null)
            expect(Buffer.from(row.current_hash!)).toEqual(hashRefreshToken([...issued][0] ?? chain[2]!))
          if (presentations.some(([, i]) => i === 0)) {
            // The oldest token is reuse: the session must be dead afterwards, whatever else happened.
            const latest = results.filter((r) => r.statusCode === 200).map((r) => r.json().refreshToken)
            const after = await refresh(a, latest.at(-1) ?? t2.refreshToken)
            expect(after.statusCode).toBe(401)
          }
        },
      ),
      { numRuns: 12 },
    )
  })

  it('logout-all racing an in-flight refresh never brings the session back', async () => {
    for (let round = 0; round < 8; round++) {
      const { pair } = await signIn(a)
      const [rotation, logout] = await Promise.all([
        refresh(round % 2 ? a : b, pair.refreshToken),
        authed(round % 2 ? b : a, 'POST', '/auth/logout-all', pair.accessToken, {}),
      ])
      expect(logout.statusCode).toBe(200)
      if (rotation.statusCode === 200) {
        const won: Pair = rotation.json()
        expect((await authed(a, 'GET', '/auth/me', won.accessToken)).statusCode).toBe(401)
        expect((await refresh(b, won.refreshToken)).statusCode).toBe(401)
      } else {
        expect(rotation.json().code).toBe('TOKEN_REVOKED')
      }
      expect((await refresh(a, pair.refreshToken)).statusCode).toBe(401)
    }
  })
})

describe('device binding', () => {
  it('refuses a refresh from another device id and keeps the session alive', async () => {
    const { pair } = await signIn(a, { device: { id: 'phone-A', platform: 'android' } })
    const stolen = await refresh(a, pair.refreshToken, { id: 'phone-B', platform: 'android' })
    expect(stolen.statusCode).toBe(401)
    expect(stolen.json().code).toBe('DEVICE_MISMATCH')
    expect((await authed(a, 'GET', '/auth/me', pair.accessToken)).statusCode).toBe(200)
    const own = await refresh(b, pair.refreshToken, { id: 'phone-A', platform: 'android' })
    expect(own.statusCode).toBe(200)
  })

  // Contract v2: a session bound to a device id refuses a refresh naming another id, or none.
  it.each([
    ['no device at all', { id: 'phone-C', platform: 'web' }, null, 'DEVICE_MISMATCH'],
    ['a device without an id', { id: 'phone-C', platform: 'web' }, { platform: 'web' }, 'DEVICE_MISMATCH'],
    [
      'an empty-looking other id',
      { id: 'phone-C', platform: 'web' },
      { id: 'phone-C ', platform: 'web' },
      'DEVICE_MISMATCH',
    ],
    ['the bound id', { id: 'phone-C', platform: 'web' }, { id: 'phone-C', platform: 'web' }, null],
    ['an unbound session, no device', { platform: 'web' }, null, null],
    ['an unbound session, any id', { platform: 'web' }, { id: 'anything', platform: 'web' }, null],
  ] as const)('a refresh naming %s', async (_name, atLogin, presented, code) => {
    const { pair } = await signIn(a, { device: atLogin })
    const res = await refresh(a, pair.refreshToken, presented)
    if (code === null) {
      expect(res.statusCode).toBe(200)
      return
    }
    expect(res.statusCode).toBe(401)
    expect(res.json().code).toBe(code)
    // The session stays alive and its own device still refreshes it.
    expect((await authed(a, 'GET', '/auth/me', pair.accessToken)).statusCode).toBe(200)
    expect((await refresh(b, pair.refreshToken, atLogin)).statusCode).toBe(200)
  })
})

describe('roles', () => {
  const rolesIn = (accessToken: string) =>
    JSON.parse(Buffer.from(accessToken.split('.')[1]!, 'base64url').toString()).roles as string[]

  it('a role granted or removed reaches the next access token of a session already refreshing', async () => {
    const { pair } = await signIn(a)
    // Refreshed once on each instance: both remember the session, so the next refreshes take one round trip.
    const first = await ok(await refresh(a, pair.refreshToken))
    const second = await ok(await refresh(b, first.refreshToken))
    const userId = (
      await a.db
        .selectFrom('sessions')
        .select('user_id')
        .where('id', '=', pair.sessionId)
        .executeTakeFirstOrThrow()
    ).user_id
    const before = rolesIn(second.accessToken)
    await a.db
      .updateTable('users')
      .set({ roles: [...before, 'security'].join(' ') })
      .where('id', '=', userId)
      .execute()
    const granted = await ok(await refresh(a, second.refreshToken))
    expect(rolesIn(granted.accessToken)).toEqual([...before, 'security'])
    await a.db
      .updateTable('users')
      .set({ roles: before.join(' ') })
      .where('id', '=', userId)
      .execute()
    const removed = await ok(await refresh(b, granted.refreshToken))
    expect(rolesIn(removed.accessToken)).toEqual(before)
  })
})

describe('session lifetime', () => {
  it('uses the long lifetime with rememberMe and caps refreshExpiresIn at the absolute expiry', async () => {
    const { pair } = await signIn(a, { rememberMe: true })
    expect(pair.refreshExpiresIn).toBe(30 * 86400)
    const next = await ok(await refresh(a, pair.refreshToken))
    expect(next.refreshExpiresIn).toBeLessThanOrEqual(30 * 86400)
    expect(next.refreshExpiresIn).toBeGreaterThan(30 * 86400 - 5)
  })
})
