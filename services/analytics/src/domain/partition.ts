import type { SessionEvent } from '@africhain/events'
import { userKey } from './event-facts.ts'

/** FNV-1a over UTF-16 code units: cheap, stable across processes, well spread for short ids. */
function hash(s: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

/**
 * Splits a batch into `n` parts by user (events without a user by session, else by id), so that parts
 * touch disjoint risk rows, user-days and, as a session's events carry its user, disjoint sessions: their
 * transactions can commit side by side without waiting for each other's row locks. Only a speed-up: the
 * storage stays correct for any split, since every transaction locks what it changes.
 */
export function partitionByUser(events: readonly SessionEvent[], n: number): SessionEvent[][] {
  const parts: SessionEvent[][] = Array.from({ length: n }, () => [])
  for (const e of events) parts[hash(e.userId ? userKey(e.userId) : (e.sessionId ?? e.id)) % n]!.push(e)
  return parts
}
