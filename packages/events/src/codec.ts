import { randomUUID } from 'node:crypto'
import Compile from 'typebox/compile'
import { RiskAlert, type SessionEvent, SessionEvent as SessionEventSchema } from './schemas.ts'

const checkSession = Compile(SessionEventSchema)
const checkAlert = Compile(RiskAlert)

/** Stream entry fields for XADD: `type` for cheap filtering, `data` the JSON envelope. */
export function encodeEvent(event: SessionEvent | RiskAlert): [string, string, string, string] {
  return ['type', event.type, 'data', JSON.stringify(event)]
}

export type Decoded<T> = { ok: true; event: T } | { ok: false; reason: string }

function fieldsToMap(fields: readonly string[]): Map<string, string> {
  const map = new Map<string, string>()
  for (let i = 0; i + 1 < fields.length; i += 2) map.set(fields[i]!, fields[i + 1]!)
  return map
}

function decodeWith<T>(fields: readonly string[], check: (v: unknown) => boolean): Decoded<T> {
  const data = fieldsToMap(fields).get('data')
  if (data === undefined) return { ok: false, reason: 'entry has no data field' }
  let parsed: unknown
  try {
    parsed = JSON.parse(data)
  } catch {
    return { ok: false, reason: 'data is not JSON' }
  }
  if (!check(parsed)) return { ok: false, reason: 'data does not match the event schema' }
  return { ok: true, event: parsed as T }
}

/** Decodes one stream entry's flat field list (as ioredis returns it) into a validated session event. */
export function decodeEvent(fields: readonly string[]): Decoded<SessionEvent> {
  return decodeWith<SessionEvent>(fields, (v) => checkSession.Check(v))
}

export function decodeAlert(fields: readonly string[]): Decoded<RiskAlert> {
  return decodeWith<RiskAlert>(fields, (v) => checkAlert.Check(v))
}

type Envelope<E> = E extends unknown ? Omit<E, 'id' | 'version' | 'occurredAt'> : never

/** Builds an envelope with a fresh random id (the consumers' idempotency key) and the time of the change. */
export function newEvent(fields: Envelope<SessionEvent>, occurredAt: Date = new Date()): SessionEvent {
  return { id: randomUUID(), version: 1, occurredAt: occurredAt.toISOString(), ...fields } as SessionEvent
}

export function newRiskAlert(
  userId: string,
  data: RiskAlert['data'],
  occurredAt: Date = new Date(),
): RiskAlert {
  return {
    id: randomUUID(),
    type: 'risk.alert',
    version: 1,
    occurredAt: occurredAt.toISOString(),
    userId,
    data,
  }
}
