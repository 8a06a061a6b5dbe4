import type { SessionEvent } from '@africhain/events'
import { deviceKeyOf } from './event-facts.ts'

/**
 * What a batch of events changes in one session's row. Every field merges commutatively (first creation,
 * ties broken by device key; earliest revocation, ties broken by reason), so the row ends the same whatever the arrival order;
 * the SQL upsert applies the same merge to the stored row.
 */
export type SessionDelta = {
  sessionId: string
  userId: string | null
  platform: string | null
  deviceKey: string | null
  createdAt: number | null
  expiresAt: number | null
  rememberMe: boolean | null
  revokedAt: number | null
  revokeReason: string | null
}

/**
 * Two creations of one session at the same millisecond (only a forged or replayed-with-a-new-id event can make
 * them) still merge the same in any order: the one with the smaller device key, byte for byte (null as empty),
 * wins; its platform, expiry and remember-me go with it. The SQL upsert compares the same bytes (`hex()`).
 * Two with the same device key too (and a different expiry or platform) still keep whichever is stored
 * first: the upsert cannot compare the whole tuple, since each column it assigns changes what the next
 * condition reads; that needs the tuple stored as one column.
 */
function wins(at: number, deviceKey: string | null, d: SessionDelta): boolean {
  if (d.createdAt === null || at < d.createdAt) return true
  return (
    at === d.createdAt && Buffer.compare(Buffer.from(deviceKey ?? ''), Buffer.from(d.deviceKey ?? '')) < 0
  )
}

function earlierRevocation(at: number, reason: string, d: SessionDelta): boolean {
  return d.revokedAt === null || at < d.revokedAt || (at === d.revokedAt && reason < (d.revokeReason ?? ''))
}

/** Only creations and revocations shape a session row; refreshes are counted per day, not per session. */
export function sessionDeltas(events: readonly SessionEvent[]): SessionDelta[] {
  const byId = new Map<string, SessionDelta>()
  for (const event of events) {
    if (!event.sessionId || (event.type !== 'session.created' && event.type !== 'session.revoked')) continue
    let d = byId.get(event.sessionId)
    if (!d) {
      d = {
        sessionId: event.sessionId,
        userId: null,
        platform: null,
        deviceKey: null,
        createdAt: null,
        expiresAt: null,
        rememberMe: null,
        revokedAt: null,
        revokeReason: null,
      }
      byId.set(event.sessionId, d)
    }
    d.userId ??= event.userId ?? null
    const at = Date.parse(event.occurredAt)
    if (event.type === 'session.created') {
      const deviceKey = deviceKeyOf(event)
      if (wins(at, deviceKey, d)) {
        d.createdAt = at
        d.expiresAt = Date.parse(event.data.expiresAt)
        d.rememberMe = event.data.rememberMe
        d.platform = event.device?.platform ?? null
        d.deviceKey = deviceKey
      }
    } else if (event.type === 'session.revoked' && earlierRevocation(at, event.data.reason, d)) {
      d.revokedAt = at
      d.revokeReason = event.data.reason
    }
  }
  return [...byId.values()].sort((a, b) => (a.sessionId < b.sessionId ? -1 : 1))
}
