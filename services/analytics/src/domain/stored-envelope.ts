import type { SessionEvent } from '@africhain/events'

/**
 * The event store keeps `id`, `type`, `userId`, `sessionId` and `ip` in their own columns; the `envelope`
 * column holds only the rest (version, occurredAt as received, userAgent, device, data), so the hot insert
 * does not write those values twice. `fullEnvelope` puts them back together; a row written before this
 * split (its JSON still has `id`) is served as it is.
 */
export function slimEnvelope(event: SessionEvent): string {
  const { id: _id, type: _type, userId: _userId, sessionId: _sessionId, ip: _ip, ...rest } = event
  return JSON.stringify(rest)
}

export type EnvelopeColumns = {
  id: string
  type: string
  user_id: string | null
  session_id: string | null
  ip: string | null
  envelope: string
}

export function fullEnvelope(row: EnvelopeColumns): string {
  const rest = JSON.parse(row.envelope) as Record<string, unknown>
  if ('id' in rest) return row.envelope
  const { version, occurredAt, ...others } = rest
  return JSON.stringify({
    id: row.id,
    version,
    occurredAt,
    type: row.type,
    ...(row.user_id !== null ? { userId: row.user_id } : {}),
    ...(row.session_id !== null ? { sessionId: row.session_id } : {}),
    ...(row.ip !== null ? { ip: row.ip } : {}),
    ...others,
  })
}
