import { randomBytes } from 'node:crypto'
import { newEvent } from '@africhain/events'
import { describe, expect, it } from 'vitest'
import { hashRefreshToken, refreshTokenCodec } from '../src/domain/refresh-token.ts'
import { sessionRepository } from '../src/storage/session.repository.ts'
import { type Pair, refresh, signIn, useTestApp } from './helpers/app.ts'

// Signed refresh tokens: a live session keeps the rows of its current and previous tokens only, a replay of
// any older one is still reuse (recognised by its MAC), and a forged one revokes nothing.
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
  it('after 30 rotations a session holds two rows, the previous token still gets the same successor, and any older one is reuse', async () => {
    const { pair } = await signIn(app)
    const chain = await rotate(pair.refreshToken, 30)
    expect(await rowsOf(pair.sessionId)).toEqual([
      { generation: 30, signed: 1 },
      { generation: 31, signed: 1 },
    ])
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

  it('a rotation that loses its compare-and-set to a revocation writes and deletes no row', async () => {
    const { pair } = await signIn(app)
    const chain = await rotate(pair.refreshToken, 2)
    const sessions = sessionRepository(app.db, () => {}, app.rotationDb)
    const found = (await sessions.findByRefreshHash(hashRefreshToken(chain[2]!)))!
    expect(found.session.previousHash).toEqual(hashRefreshToken(chain[1]!))
    // Revoked after the lookup, before the CAS: the race the rotation's conditions exist for.
    await app.db
      .updateTable('sessions')
      .set({ revoked_at: new Date() })
      .where('id', '=', pair.sessionId)
      .execute()
    const event = newEvent({
      type: 'session.refreshed',
      userId: found.session.userId,
      sessionId: pair.sessionId,
      ip: '10.0.0.1',
      data: { generation: found.generation + 1 },
    })
    const won = await sessions.rotate({
      sessionId: pair.sessionId,
      fromGeneration: found.generation,
      newHash: randomBytes(32),
      successorEnc: 'sealed',
      previousHash: hashRefreshToken(chain[2]!),
      dropHash: found.session.previousHash,
      now: new Date(),
      ip: '10.0.0.1',
      userAgent: null,
      event,
    })
    expect(won).toBe(false)
    // The previous token's row stays (it answers TOKEN_REVOKED, not TOKEN_INVALID); no new row, no event.
    expect(await rowsOf(pair.sessionId)).toEqual([
      { generation: 2, signed: 1 },
      { generation: 3, signed: 1 },
    ])
    const outbox = await app.db.selectFrom('outbox').select('id').where('id', '=', event.id).execute()
    expect(outbox).toEqual([])
    expect(codeOf(await refresh(app, chain[1]!))).toBe('TOKEN_REVOKED')
  })

  it('a token issued before signed tokens keeps working until it rotates, and is reuse after', async () => {
    const { pair }: { pair: Pair } = await signIn(app)
    // As the service stored a session before signed tokens: a random token, known only by its row.
    const legacy = `rt_${randomBytes(32).toString('base64url')}`
    await app.db
      .updateTable('refresh_tokens')
      .set({ hash: hashRefreshToken(legacy), signed: 0 })
      .where('session_id', '=', pair.sessionId)
      .execute()
    const chain = await rotate(legacy, 5)
    expect(chain[1]).toHaveLength(95) // its successor is signed
    // The legacy row stays (only it recognises that token); signed rows older than the previous go.
    expect(await rowsOf(pair.sessionId)).toEqual([
      { generation: 1, signed: 0 },
      { generation: 5, signed: 1 },
      { generation: 6, signed: 1 },
    ])
    expect(codeOf(await refresh(app, legacy))).toBe('TOKEN_REUSED')
  })
})
