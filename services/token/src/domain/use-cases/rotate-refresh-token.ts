import { timingSafeEqual } from 'node:crypto'
import type { TokenPair } from '@africhain/contract'
import type { RequestContext } from '../context.ts'
import { DomainError } from '../errors.ts'
import { revokedEvent, sessionEvent } from '../events.ts'
import type { Device, KnownSession, SessionOwner, SessionRecord } from '../ports.ts'
import { hashRefreshToken, openSuccessor, type ReadToken, sealSuccessor } from '../refresh-token.ts'
import { issueTokenPair } from '../token-pair.ts'
import type { SessionDeps } from './deps.ts'
import { revokeSessions } from './revoke-sessions.ts'

type Presented = { token: string; hash: Buffer; device: Device | undefined; ctx: RequestContext }

/**
 * Refresh-token rotation. The current token rotates by one compare-and-set (`SessionStore.rotate`); the
 * immediately previous one, presented again within the grace window, gets the same successor (never a
 * second chain); any older one is reuse: the session is revoked (reason `reuse_detected`), whoever
 * presents it. A session bound to a device id at login refreshes only from that device.
 *
 * The common case is one round trip: a signed token names its session and generation, and when this
 * process remembers the session (its owner and device for the event, its expiry and the user's roles for
 * the answer) it tries the compare-and-set at once, the roles checked unchanged in it — the store's
 * conditions are exactly those under which the checks below would rotate. When it changes nothing (any
 * other case: a race, the previous token, reuse, an ended session, another device, a disabled user, whose
 * sessions are revoked, changed roles) the session is read and judged below, and a rotation from there
 * reads the roles back instead.
 */
export async function rotateRefreshToken(
  d: SessionDeps,
  token: string,
  device: Device | undefined,
  ctx: RequestContext,
): Promise<TokenPair> {
  const read = d.tokens.read(token)
  if (!read) throw new DomainError('TOKEN_INVALID')
  const presented: Presented = { token, hash: hashRefreshToken(token), device, ctx }
  const known = read.kind === 'signed' ? d.sessions.known(read.sessionId) : undefined
  if (known && read.kind === 'signed') {
    const pair = await rotateCurrent(d, presented, known, read.generation, { roles: known.roles })
    if (pair) return pair
  }
  const found =
    read.kind === 'signed'
      ? await bySession(d, read, presented.hash)
      : await d.sessions.findByRefreshHash(presented.hash)
  if (!found) throw new DomainError('TOKEN_INVALID')
  if (found.disabled) throw new DomainError('USER_DISABLED')
  let session = found.session
  // At most two rounds: a lost CAS re-reads the session once and is then judged as the previous token.
  for (let round = 0; round < 2; round++) {
    assertLive(session, d.now())
    const current = found.generation === session.generation
    const previousInGrace =
      found.generation === session.generation - 1 &&
      session.rotatedAgoMs !== null &&
      session.rotatedAgoMs <= d.policy.reuseGrace * 1000 &&
      session.successorEnc !== null
    // Any older token (or the previous one after the grace window) is reuse whoever presents it: judged
    // before the device binding, so a replay from another device cannot pass as a mere mismatch.
    if (!current && !previousInGrace) break
    if (session.device.id !== undefined && device?.id !== session.device.id) {
      const presentedDeviceId = device?.id ?? ''
      await d.sessions.appendEvents([
        sessionEvent(session, ctx, { type: 'session.device_mismatch', data: { presentedDeviceId } }),
      ])
      throw new DomainError('DEVICE_MISMATCH')
    }
    if (current) {
      // A session without a current hash had the token judged by its row (bySession, findByRefreshHash).
      const pair = await rotateCurrent(d, presented, session, found.generation, {
        matchedByRow: session.currentHash === null,
      })
      if (pair) return pair
      const reread = await d.sessions.find(session.id)
      if (!reread) throw new DomainError('TOKEN_INVALID')
      session = reread
      continue
    }
    // The immediately previous token inside the grace window: the same successor, never a second chain.
    const successor = openSuccessor(token, session.id, session.successorEnc!)
    if (successor)
      return issueTokenPair(d, { id: session.userId, roles: found.roles }, session, successor, d.now())
    break
  }
  await revokeSessions(
    d,
    { userId: session.userId, sessionIds: [session.id] },
    'reuse_detected',
    (s, now) => [
      sessionEvent(s, ctx, {
        type: 'token.reuse_detected',
        data: { presentedGeneration: found.generation, currentGeneration: s.generation },
      }),
      revokedEvent(s, ctx, 'reuse_detected', now, d.policy.accessTtl),
    ],
  )
  d.observe?.reuseDetected()
  throw new DomainError('TOKEN_REUSED')
}

/**
 * The compare-and-set from `generation` with its successor and event; undefined when it changed nothing.
 * `roles`: the user's roles as remembered, checked unchanged by the store (else it reads them back).
 * `matchedByRow`: the token was found by its `refresh_tokens` row (ports.ts `Rotation`).
 */
async function rotateCurrent(
  d: SessionDeps,
  p: Presented,
  owner: SessionOwner,
  generation: number,
  { roles, matchedByRow }: { roles?: KnownSession['roles']; matchedByRow?: boolean } = {},
): Promise<TokenPair | undefined> {
  const now = d.now()
  const successor = d.tokens.mint(owner.id, generation + 1)
  const rotated = await d.sessions.rotate({
    sessionId: owner.id,
    userId: owner.userId,
    ...(roles ? { roles } : {}),
    ...(matchedByRow ? { matchedByRow } : {}),
    fromGeneration: generation,
    presentedHash: p.hash,
    presentedDeviceId: p.device?.id,
    newHash: hashRefreshToken(successor),
    successorEnc: sealSuccessor(p.token, owner.id, successor),
    now,
    ip: p.ctx.ip,
    userAgent: p.ctx.userAgent,
    event: sessionEvent(owner, p.ctx, { type: 'session.refreshed', data: { generation: generation + 1 } }),
  })
  if (!rotated) return undefined
  d.observe?.refreshed()
  return issueTokenPair(d, { id: owner.userId, roles: rotated }, owner, successor, now)
}

/**
 * A signed token (its MAC verified: we issued it) judged against the session it names: the current token
 * or the previous one when its hash is the session's; any older generation is a rotated-out token of that
 * session, reuse whoever presents it. Anything else is unknown: its session was deleted after it ended, or
 * it never was one of the session's tokens. A session no rotation of this release has touched (written
 * before token migration 008, or by an instance of the release before it) has no current hash: its tokens
 * are judged by their `refresh_tokens` rows, as that release wrote them.
 */
async function bySession(d: SessionDeps, read: Extract<ReadToken, { kind: 'signed' }>, hash: Buffer) {
  const found = await d.sessions.findWithUser(read.sessionId)
  if (!found) return undefined
  const s = found.session
  const older = read.generation < s.generation - 1
  if (s.currentHash === null) {
    // The row must be this token's: of the session and the generation the token names.
    const byRow = await d.sessions.findByRefreshHash(hash)
    if (byRow) return byRow.session.id === s.id && byRow.generation === read.generation ? byRow : undefined
    return older ? { ...found, generation: read.generation } : undefined
  }
  const known =
    (read.generation === s.generation && sameHash(hash, s.currentHash)) ||
    (read.generation === s.generation - 1 && sameHash(hash, s.previousHash)) ||
    older
  return known ? { ...found, generation: read.generation } : undefined
}

function sameHash(a: Buffer, b: Buffer | null): boolean {
  return b !== null && a.length === b.length && timingSafeEqual(a, b)
}

function assertLive(session: SessionRecord, now: Date): void {
  if (session.revokedAt) throw new DomainError('TOKEN_REVOKED')
  if (session.expiresAt <= now) throw new DomainError('TOKEN_EXPIRED')
}
