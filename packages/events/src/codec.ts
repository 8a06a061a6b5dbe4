import { randomFillSync, randomUUID } from 'node:crypto'
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

function decodeWith<T>(
  fields: readonly string[],
  check: (v: unknown) => boolean,
  upgrade: (v: unknown) => unknown = (v) => v,
): Decoded<T> {
  const data = fieldsToMap(fields).get('data')
  if (data === undefined) return { ok: false, reason: 'entry has no data field' }
  let parsed: unknown
  try {
    // A lone surrogate can only arrive as a \uD8xx–\uDFxx escape (the field itself is UTF-8 text).
    parsed = SURROGATE_ESCAPE.test(data) ? JSON.parse(data, wellFormed) : JSON.parse(data)
  } catch {
    return { ok: false, reason: 'data is not JSON' }
  }
  parsed = upgrade(parsed)
  if (!check(parsed)) return { ok: false, reason: 'data does not match the event schema' }
  return { ok: true, event: parsed as T }
}

const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g

/**
 * Decoded strings are well-formed: a lone surrogate becomes U+FFFD, which is what UTF-8 storage (MySQL,
 * Redis clients) would make of it anyway. Consumers then compare exactly what they store.
 */
function wellFormed(_key: string, value: unknown): unknown {
  return typeof value === 'string' ? value.replace(LONE_SURROGATE, '\uFFFD') : value
}

/** Decodes one stream entry's flat field list (as ioredis returns it) into a validated session event. */
export function decodeEvent(fields: readonly string[]): Decoded<SessionEvent> {
  return decodeWith<SessionEvent>(fields, (v) => checkSession.Check(v))
}

/**
 * Alerts from workers older than `holderScore` do not carry it. They decode with `holderScore: 0` rather
 * than being dead-lettered: still counted and logged, but nothing can tell which of their points a
 * stranger caused, so they never trigger an automatic action. Any other shape is checked as usual.
 */
function withHolderScore(v: unknown): unknown {
  const data = (v as { data?: unknown } | null)?.data
  if (typeof data !== 'object' || data === null || Array.isArray(data) || 'holderScore' in data) return v
  return { ...(v as object), data: { ...data, holderScore: 0 } }
}

export function decodeAlert(fields: readonly string[]): Decoded<RiskAlert> {
  return decodeWith<RiskAlert>(fields, (v) => checkAlert.Check(v), withHolderScore)
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))
const random = Buffer.alloc(16 * 256)
let randomAt = random.length

/**
 * A UUIDv7 (RFC 9562): the first 48 bits are the Unix time in ms, the rest random (74 bits). Ids of events
 * close in time sort close together, so a consumer's unique index on them grows at its end instead of
 * taking writes all over the tree, and they are still unguessable and unique.
 */
export function uuidv7(ms: number = Date.now()): string {
  if (randomAt === random.length) {
    randomFillSync(random)
    randomAt = 0
  }
  const b = random.subarray(randomAt, randomAt + 16)
  randomAt += 16
  const t = Math.max(0, Math.floor(ms))
  const high = Math.floor(t / 2 ** 16)
  b[0] = (high >>> 24) & 0xff
  b[1] = (high >>> 16) & 0xff
  b[2] = (high >>> 8) & 0xff
  b[3] = high & 0xff
  b[4] = (t >>> 8) & 0xff
  b[5] = t & 0xff
  b[6] = (b[6]! & 0x0f) | 0x70
  b[8] = (b[8]! & 0x3f) | 0x80
  let s = ''
  for (let i = 0; i < 16; i++) {
    s += HEX[b[i]!]
    if (i === 3 || i === 5 || i === 7 || i === 9) s += '-'
  }
  return s
}

type Envelope<E> = E extends unknown ? Omit<E, 'id' | 'version' | 'occurredAt'> : never

/**
 * Builds an envelope with a fresh id (the consumers' idempotency key; a UUIDv7 of the event's time) and the
 * time of the change.
 */
export function newEvent(fields: Envelope<SessionEvent>, occurredAt: Date = new Date()): SessionEvent {
  return {
    id: uuidv7(occurredAt.getTime()),
    version: 1,
    occurredAt: occurredAt.toISOString(),
    ...fields,
  } as SessionEvent
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
