import type { TokenPair } from '@africhain/contract'
import type { RequestContext } from '../context.ts'
import { DomainError } from '../errors.ts'
import { revokedEvent, sessionEvent } from '../events.ts'
import type { Device, SessionRecord } from '../ports.ts'
import { hashRefreshToken, openSuccessor, type ReadToken, sealSuccessor } from '../refresh-token.ts'
import { issueTokenPair } from '../token-pair.ts'
import type { SessionDeps } from './deps.ts'
import { revokeSessions } from './revoke-sessions.ts'

/**
 * Refresh-token rotation. The current token rotates by one compare-and-set (`SessionStore.rotate`); the
 * immediately previous one, presented again within the grace window, gets the same successor (never a
 * second chain); any older one is reuse: the session is revoked (reason `reuse_detected`), whoever
 * presents it. A session bound to a device id at login refreshes only from that device.
 */
export async function rotateRefreshToken(
  d: SessionDeps,
  token: string,
  device: Device | undefined,
  ctx: RequestContext,
): Promise<TokenPair> {
  const read = d.tokens.read(token)
  if (!read) throw new DomainError('TOKEN_INVALID')
  const presentedHash = hashRefreshToken(token)
  const found = (await d.sessions.findByRefreshHash(presentedHash)) ?? (await pruned(d, read))
  if (!found) throw new DomainError('TOKEN_INVALID')
  if (found.disabled) throw new DomainError('USER_DISABLED')
  const user = { id: found.session.userId, roles: found.roles }
  let session = found.session
  // At most two rounds: a lost CAS re-reads the session once and is then judged as the previous token.
  for (let round = 0; round < 2; round++) {
    const now = d.now()
    assertLive(session, now)
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
      const successor = d.tokens.mint(session.id, found.generation + 1)
      const won = await d.sessions.rotate({
        sessionId: session.id,
        fromGeneration: found.generation,
        newHash: hashRefreshToken(successor),
        successorEnc: sealSuccessor(token, session.id, successor),
        previousHash: read.kind === 'signed' ? presentedHash : null,
        dropHash: session.previousHash,
        now,
        ip: ctx.ip,
        userAgent: ctx.userAgent,
        event: sessionEvent(session, ctx, {
          type: 'session.refreshed',
          data: { generation: found.generation + 1 },
        }),
      })
      if (won) {
        d.observe?.refreshed()
        return issueTokenPair(d, user, session, successor, now)
      }
      const reread = await d.sessions.find(session.id)
      if (!reread) throw new DomainError('TOKEN_INVALID')
      session = reread
      continue
    }
    // The immediately previous token inside the grace window: the same successor, never a second chain.
    const successor = openSuccessor(token, session.id, session.successorEnc!)
    if (successor) return issueTokenPair(d, user, session, successor, now)
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
 * A signed token (its MAC verified: we issued it) whose row is gone. Rotation deletes the rows of signed
 * tokens older than the previous generation, so a token that says "session S, generation g < previous" is
 * a rotated-out token of S, judged as reuse exactly as its row would have been. Anything else without a
 * row is unknown: its session was deleted after it ended, or it never was one of S's current two tokens.
 */
async function pruned(d: SessionDeps, read: ReadToken) {
  if (read.kind !== 'signed') return undefined
  const found = await d.sessions.findWithUser(read.sessionId)
  if (!found || read.generation >= found.session.generation - 1) return undefined
  return { ...found, generation: read.generation }
}

function assertLive(session: SessionRecord, now: Date): void {
  if (session.revokedAt) throw new DomainError('TOKEN_REVOKED')
  if (session.expiresAt <= now) throw new DomainError('TOKEN_EXPIRED')
}
