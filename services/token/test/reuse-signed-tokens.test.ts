import { randomBytes } from 'node:crypto'
import { newEvent } from '@africhain/events'
import { sql } from 'kysely'
import { describe, expect, it } from 'vitest'
import { hashRefreshToken, refreshTokenCodec } from '../src/domain/refresh-token.ts'
import { sessionRepository } from '../src/storage/session.repository.ts'
import { LOGIN_DEVICE, type Pair, refresh, signIn, useTestApp } from './helpers/app.ts'

// Signed refresh tokens: a session keeps only its current and previous token hashes (on its own row), a
// replay of any older token is still reuse (recognised by its MAC), and a forged one revokes nothing.
const { app } = useTestApp('reuse_signed')

const codeOf = (res: { statusCode: number; json(): { code?: string } }) =>
  res.statusCode === 200 ? 200 : res.json().code

async function rotate(token: string, times: number): Promise<string[]> {
  const chain = [token]
  for (let i = 0; i < times; i++) {
    const res = await refresh(app, chain.at(-1)!)
    expect(res.statusCode, res.body).toBe(200)
    chain.push(res.json().refreshToken)
  }
  return chain
}

const hashesOf = (sessionId: string) =>
  app.db
    .selectFrom('sessions')
    .select(['generation', 'current_hash', 'previous_hash'])
    .where('id', '=', sessionId)
    .executeTakeFirstOrThrow()

const rowsOf = (sessionId: string) =>
  app.db
    .selectFrom('refresh_tokens')
    .select(['generation', 'signed'])
    .where('session_id', '=', sessionId)
    .orderBy('generation')
    .execute()

/** The token with its byte at `at` (after `rt_`) replaced by `change` of it, spelled again. */
function edited(token: string, at: number, change: (byte: number) => number): string {
  const raw = Buffer.from(token.slice(3), 'base64url')
  raw[at] = change(raw[at]!)
  return `rt_${raw.toString('base64url')}`
}

describe('signed refresh tokens', () => {
  it('after 30 rotations a session holds two hashes and no token row, the previous token still gets the same successor, and any older one is reuse', async () => {
    const { pair } = await signIn(app)
    const chain = await rotate(pair.refreshToken, 30)
    expect(await rowsOf(pair.sessionId)).toEqual([])
    expect(await hashesOf(pair.sessionId)).toEqual({
      generation: 31,
      current_hash: hashRefreshToken(chain[30]!),
      previous_hash: hashRefreshToken(chain[29]!),
    })
    // The grace window: the previous token again, the same successor.
    const again = await refresh(app, chain.at(-2)!)
    expect(again.statusCode).toBe(200)
    expect(again.json().refreshToken).toBe(chain.at(-1))
    // The first token, whose row is long gone: reuse, the session revoked.
    expect(codeOf(await refresh(app, chain[0]!))).toBe('TOKEN_REUSED')
    expect(codeOf(await refresh(app, chain.at(-1)!))).toBe('TOKEN_REVOKED')
    const session = await app.db
      .selectFrom('sessions')
      .select('revoked_reason')
      .where('id', '=', pair.sessionId)
      .executeTakeFirstOrThrow()
    expect(session.revoked_reason).toBe('reuse_detected')
  })

  // An attacker holding their own old tokens and knowing the victim's session id tries to get the victim's
  // session revoked as reused. Each forgery is an unknown token: TOKEN_INVALID, and the victim refreshes on.
  const forgeries: [string, (victim: { old: string; sessionId: string }, own: string) => string][] = [
    ["the victim's old token with its MAC altered", ({ old }) => edited(old, 60, (b) => b ^ 1)],
    ["the victim's old token with its generation lowered", ({ old }) => edited(old, 20, (b) => b ^ 1)],
    ["the victim's old token with another version byte", ({ old }) => edited(old, 0, () => 3)],
    [
      "the attacker's own old token naming the victim's session",
      ({ sessionId }, own) => {
        const raw = Buffer.from(own.slice(3), 'base64url')
        Buffer.from(sessionId, 'base64url').copy(raw, 1)
        return `rt_${raw.toString('base64url')}`
      },
    ],
    [
      'a token for the victim at generation 1 under another key',
      ({ sessionId }) => refreshTokenCodec(randomBytes(32)).mint(sessionId, 1),
    ],
    ["the victim's old token cut short", ({ old }) => old.slice(0, -1)],
  ]

  it.each(forgeries)('%s: TOKEN_INVALID, nothing revoked', async (_name, forge) => {
    const victim = await signIn(app)
    const victimChain = await rotate(victim.pair.refreshToken, 3)
    const attacker = await signIn(app)
    const ownChain = await rotate(attacker.pair.refreshToken, 3)
    const forged = forge({ old: victimChain[0]!, sessionId: victim.pair.sessionId }, ownChain[0]!)
    expect(forged).not.toBe(victimChain[0])
    expect(codeOf(await refresh(app, forged))).toBe('TOKEN_INVALID')
    const next = await refresh(app, victimChain.at(-1)!)
    expect(next.statusCode, next.body).toBe(200)
  })

  // The one-round-trip rotation changes nothing unless every condition holds; each case below breaks one
  // (after the session was read, as a race would) and the store must answer undefined and write nothing.
  type Broken = { presentedHash?: Buffer; fromGeneration?: number; presentedDeviceId?: string | undefined }
  const losses: [string, (sessionId: string) => Promise<void>, Broken][] = [
    [
      'revoked after it was read',
      async (id) => {
        await app.db.updateTable('sessions').set({ revoked_at: new Date() }).where('id', '=', id).execute()
      },
      {},
    ],
    [
      'expired after it was read',
      async (id) => {
        await sql`update sessions set expires_at = utc_timestamp(3) - interval 1 second where id = ${id}`.execute(
          app.db,
        )
      },
      {},
    ],
    ['moved on by another rotation (an older generation presented)', async () => {}, { fromGeneration: 2 }],
    ['presented with a hash that is not the current one', async () => {}, { presentedHash: randomBytes(32) }],
    ['bound to another device', async () => {}, { presentedDeviceId: 'another-device' }],
    ['bound to a device none was presented for', async () => {}, { presentedDeviceId: undefined }],
    [
      'without a current hash (as migration 008 leaves it), the token not matched by its row',
      async (id) => {
        await app.db.updateTable('sessions').set({ current_hash: null }).where('id', '=', id).execute()
      },
      {},
    ],
  ]

  it.each(losses)(
    'a rotation of a session %s writes nothing and answers undefined',
    async (name, race, broken) => {
      const expected = name.startsWith('revoked')
        ? 'TOKEN_REVOKED'
        : name.startsWith('expired')
          ? 'TOKEN_EXPIRED'
          : // Its token has no row (this release writes none): nothing vouches for it any more.
            name.startsWith('without a current hash')
            ? 'TOKEN_INVALID'
            : 200
      const { pair } = await signIn(app)
      const chain = await rotate(pair.refreshToken, 2)
      const sessions = sessionRepository(app.db, () => {}, app.rotationDb)
      const found = (await sessions.findWithUser(pair.sessionId))!
      await race(pair.sessionId)
      const before = await hashesOf(pair.sessionId)
      const event = newEvent({
        type: 'session.refreshed',
        userId: found.session.userId,
        sessionId: pair.sessionId,
        ip: '10.0.0.1',
        data: { generation: found.session.generation + 1 },
      })
      const rotated = await sessions.rotate({
        sessionId: pair.sessionId,
        userId: found.session.userId,
        fromGeneration: found.session.generation,
        presentedHash: hashRefreshToken(chain[2]!),
        presentedDeviceId: LOGIN_DEVICE.id,
        newHash: randomBytes(32),
        successorEnc: 'sealed',
        now: new Date(),
        ip: '10.0.0.1',
        userAgent: null,
        event,
        ...broken,
      })
      expect(rotated).toBeUndefined()
      expect(await hashesOf(pair.sessionId)).toEqual(before)
      const outbox = await app.db.selectFrom('outbox').select('id').where('id', '=', event.id).execute()
      expect(outbox).toEqual([])
      // The connection went back to the pool with its transaction rolled back: the next rotation works.
      const next = await refresh(app, chain[2]!)
      expect(codeOf(next)).toBe(expected)
    },
  )

  it("the same rotation with every condition holding rotates, and returns the user's roles as they now stand", async () => {
    const { pair } = await signIn(app)
    const sessions = sessionRepository(app.db, () => {}, app.rotationDb)
    const found = (await sessions.findWithUser(pair.sessionId))!
    const newHash = randomBytes(32)
    const rotated = await sessions.rotate({
      sessionId: pair.sessionId,
      userId: found.session.userId,
      fromGeneration: 1,
      presentedHash: hashRefreshToken(pair.refreshToken),
      presentedDeviceId: LOGIN_DEVICE.id,
      newHash,
      successorEnc: 'sealed',
      now: new Date(),
      ip: '10.0.0.1',
      userAgent: null,
      event: newEvent({
        type: 'session.refreshed',
        userId: found.session.userId,
        sessionId: pair.sessionId,
        data: { generation: 2 },
      }),
    })
    expect(rotated).toEqual(found.roles)
    expect(await hashesOf(pair.sessionId)).toEqual({
      generation: 2,
      current_hash: newHash,
      previous_hash: hashRefreshToken(pair.refreshToken),
    })
  })

  it('a session the release before migration 008 rotated (token rows, no current hash) keeps working, and its older tokens are reuse', async () => {
    const { pair } = await signIn(app)
    const chain = await rotate(pair.refreshToken, 2)
    // As that release left it: a row for its current and previous tokens, the older one's row pruned.
    await app.db
      .updateTable('sessions')
      .set({ current_hash: null })
      .where('id', '=', pair.sessionId)
      .execute()
    await app.db
      .insertInto('refresh_tokens')
      .values(
        [chain[1]!, chain[2]!].map((t, i) => ({
          hash: hashRefreshToken(t),
          session_id: pair.sessionId,
          generation: i + 2,
          created_at: new Date(),
          signed: 1,
        })),
      )
      .execute()
    // A fresh instance's view: nothing remembered, so the session is read and judged by its rows.
    const next = await refresh(app, chain[2]!)
    expect(next.statusCode, next.body).toBe(200)
    expect(await hashesOf(pair.sessionId)).toMatchObject({
      generation: 4,
      current_hash: hashRefreshToken(next.json().refreshToken),
    })
    // The previous token within the grace window: the same successor; the first one is reuse.
    expect((await refresh(app, chain[2]!)).json().refreshToken).toBe(next.json().refreshToken)
    expect(codeOf(await refresh(app, chain[0]!))).toBe('TOKEN_REUSED')
  })

  it('a token issued before signed tokens keeps working until it rotates, and is reuse after', async () => {
    const { pair }: { pair: Pair } = await signIn(app)
    // As the service stored a session before signed tokens (and migration 008 left it): a random token,
    // known by its row, and no current hash on the session.
    const legacy = `rt_${randomBytes(32).toString('base64url')}`
    await app.db
      .insertInto('refresh_tokens')
      .values({
        hash: hashRefreshToken(legacy),
        session_id: pair.sessionId,
        generation: 1,
        created_at: new Date(),
        signed: 0,
      })
      .execute()
    await app.db
      .updateTable('sessions')
      .set({ current_hash: null })
      .where('id', '=', pair.sessionId)
      .execute()
    const chain = await rotate(legacy, 5)
    expect(chain[1]).toHaveLength(95) // its successor is signed
    // The legacy row stays (only it recognises that token); signed tokens have no row.
    expect(await rowsOf(pair.sessionId)).toEqual([{ generation: 1, signed: 0 }])
    expect(codeOf(await refresh(app, legacy))).toBe('TOKEN_REUSED')
  })
})
