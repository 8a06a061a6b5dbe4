import { describe, expect, it } from 'vitest'
import { hashRefreshToken } from '../src/domain/refresh-token.ts'
import { LOGIN_DEVICE, refresh, signIn, useTestApp } from './helpers/app.ts'

// The one-round-trip rotation (the instance remembers the session: apps[0], which opened it) and the slower
// path (apps[1], which has to read it) judge every token the same way. A session without a current hash (as
// token migration 008 leaves the sessions of the release before) has its tokens vouched for by their
// `refresh_tokens` rows only: a token with a valid MAC that was never handed out must not rotate it.
const { apps } = useTestApp('refresh_unset_hash', { instances: 2 })
const codeOf = (res: { statusCode: number; json(): { code?: string } }) =>
  res.statusCode === 200 ? 200 : res.json().code

const sessionRow = (id: string) =>
  apps[0].db
    .selectFrom('sessions')
    .select(['generation', 'current_hash', 'previous_hash', 'revoked_at'])
    .where('id', '=', id)
    .executeTakeFirstOrThrow()

describe('the fast and the slow refresh path agree', () => {
  const cases: [string, 0 | 1, number][] = [
    ['the remembering instance (fast path)', 0, 1],
    ['another instance (slow path)', 1, 1],
    ['another instance, asked a second time (the refused read remembered the session)', 1, 2],
  ]
  it.each(cases)(
    'a session without current_hash (as migration 008 leaves it): a MAC-valid token at its generation that has no refresh_tokens row is TOKEN_INVALID on %s',
    async (_name, which, attempts) => {
      const { pair } = await signIn(apps[0])
      // As migration 008 leaves a session of the release before: no current hash, its token known by its row.
      await apps[0].db
        .updateTable('sessions')
        .set({ current_hash: null })
        .where('id', '=', pair.sessionId)
        .execute()
      await apps[0].db
        .insertInto('refresh_tokens')
        .values({
          hash: hashRefreshToken(pair.refreshToken),
          session_id: pair.sessionId,
          generation: 1,
          created_at: new Date(),
          signed: 1,
        })
        .execute()
      // A token with a valid MAC for (session, generation 1) that is not the session's token (no row).
      const other = apps[0].refreshTokens.mint(pair.sessionId, 1)
      expect(other).not.toBe(pair.refreshToken)
      for (let i = 0; i < attempts; i++) {
        const res = await refresh(apps[which], other)
        expect(codeOf(res), `attempt ${i + 1}: ${res.body}`).toBe('TOKEN_INVALID')
      }
      // The session's real token still rotates.
      expect(codeOf(await refresh(apps[which], pair.refreshToken))).toBe(200)
    },
  )

  // A row vouches only for the token it was written for: of the session and the generation the token names.
  const misfiled: [string, 'other-session' | 'other-generation'][] = [
    ["a row filed under another session (the token names this one's sibling)", 'other-session'],
    ['a row of the right session at another generation', 'other-generation'],
  ]
  it.each(misfiled)(
    'a session without current_hash: a signed token matched by %s is TOKEN_INVALID',
    async (_n, how) => {
      const x = (await signIn(apps[0])).pair
      const y = (await signIn(apps[0])).pair
      for (const id of [x.sessionId, y.sessionId])
        await apps[0].db.updateTable('sessions').set({ current_hash: null }).where('id', '=', id).execute()
      const token = apps[0].refreshTokens.mint(x.sessionId, 1)
      await apps[0].db
        .insertInto('refresh_tokens')
        .values({
          hash: hashRefreshToken(token),
          session_id: how === 'other-session' ? y.sessionId : x.sessionId,
          generation: how === 'other-session' ? 1 : 2,
          created_at: new Date(),
          signed: 1,
        })
        .execute()
      for (const which of [1, 0] as const)
        expect(codeOf(await refresh(apps[which], token)), `instance ${which}`).toBe('TOKEN_INVALID')
      for (const id of [x.sessionId, y.sessionId]) {
        const row = await sessionRow(id)
        expect({ generation: row.generation, revoked: row.revoked_at }).toEqual({
          generation: 1,
          revoked: null,
        })
      }
    },
  )

  it.each([
    ['trailing space', `${LOGIN_DEVICE.id} `],
    ['upper case', LOGIN_DEVICE.id.toUpperCase()],
    ['leading space', ` ${LOGIN_DEVICE.id}`],
  ])('a device id differing by %s is DEVICE_MISMATCH on both paths', async (_n, id) => {
    for (const which of [0, 1] as const) {
      const { pair } = await signIn(apps[0])
      const res = await refresh(apps[which], pair.refreshToken, { ...LOGIN_DEVICE, id })
      expect(codeOf(res), `instance ${which}: ${res.body}`).toBe('DEVICE_MISMATCH')
      expect((await sessionRow(pair.sessionId)).generation).toBe(1)
    }
  })

  it('a logged-out session refreshed on the remembering instance: TOKEN_REVOKED', async () => {
    const { pair } = await signIn(apps[0])
    await apps[0].db
      .updateTable('sessions')
      .set({ revoked_at: new Date(), revoked_reason: 'logout' })
      .where('id', '=', pair.sessionId)
      .execute()
    expect(codeOf(await refresh(apps[0], pair.refreshToken))).toBe('TOKEN_REVOKED')
  })

  it.each([
    ['all on the remembering instance', [0, 0, 0, 0, 0, 0, 0, 0]],
    ['spread over both instances', [0, 1, 0, 1, 0, 1, 0, 1]],
  ] as const)('8 concurrent refreshes of one token (%s) never fork: one successor', async (_n, on) => {
    const { pair } = await signIn(apps[0])
    const answers = await Promise.all(on.map((w) => refresh(apps[w], pair.refreshToken)))
    const ok = answers.filter((r) => r.statusCode === 200).map((r) => r.json().refreshToken as string)
    expect(ok.length).toBeGreaterThan(0)
    expect(new Set(ok).size, answers.map((r) => r.statusCode).join(',')).toBe(1)
    const row = await sessionRow(pair.sessionId)
    expect(row.generation).toBe(2)
    expect(Buffer.from(row.current_hash!)).toEqual(hashRefreshToken(ok[0]!))
    expect(row.revoked_at).toBeNull()
    const events = await apps[0].db
      .selectFrom('outbox')
      .select('payload')
      .where('payload', 'like', `%${pair.sessionId}%`)
      .where('payload', 'like', '%session.refreshed%')
      .execute()
    expect(events.length).toBe(1)
  })
})
