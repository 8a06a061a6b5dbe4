import { LAST_INSTANT_MS } from './time.ts'

/**
 * The opaque cursor of `/analytics/events`: the position of the last event of a page in the
 * (occurredAt desc, id desc) order. It only says where to continue; the query is always scoped to the
 * caller's authorised user, so a forged cursor can skip around but never reach other data.
 */
export type EventCursor = { at: number; id: string }

export function encodeCursor(c: EventCursor): string {
  return Buffer.from(JSON.stringify([c.at, c.id])).toString('base64url')
}

/** The position, or null when the string is not a cursor this service issued. */
export function decodeCursor(raw: string): EventCursor | null {
  try {
    const value = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as unknown
    if (!Array.isArray(value) || value.length !== 2) return null
    const [at, id] = value as [unknown, unknown]
    if (typeof at !== 'number' || !Number.isSafeInteger(at) || at < 0 || at > LAST_INSTANT_MS) return null
    if (typeof id !== 'string' || !/^[0-9a-f-]{36}$/i.test(id)) return null
    return { at, id }
  } catch {
    return null
  }
}
