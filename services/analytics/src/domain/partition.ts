import { crc32 } from 'node:zlib'
import type { SessionEvent } from '@africhain/events'
import { userKey } from './event-facts.ts'

/**
 * Every stored event belongs to one of `EVENT_BUCKETS` buckets, a fixed function of its user (events without
 * a user: of their session, else of their id). The event store's primary key is (bucket, id): a duplicate
 * delivery has the same user, so the same key; and an ingest transaction, holding only some buckets'
 * users, appends to those buckets' ends of the key while the transactions beside it append to others'.
 * (With the id alone as key, side-by-side transactions inserted interleaved ids into the same pages, which
 * split half full: the table was twice its size, see migration 004.)
 *
 * Never change this function or the count: rows already stored carry their bucket. The SQL of the same
 * function, for rows stored before buckets existed, is in migration 004 (a test checks both agree).
 */
export const EVENT_BUCKETS = 64

/** The text a bucket is computed from: the user as the database compares it, else the session, else the id. */
function bucketKey(e: Pick<SessionEvent, 'id' | 'userId' | 'sessionId'>): string {
  return e.userId ? userKey(e.userId) : (e.sessionId ?? e.id)
}

/** CRC-32 of the key's UTF-8 bytes (the SQL `crc32()`), modulo the bucket count. */
export function eventBucket(e: Pick<SessionEvent, 'id' | 'userId' | 'sessionId'>): number {
  return crc32(bucketKey(e)) % EVENT_BUCKETS
}

/**
 * Splits a batch into `n` parts by bucket, so by user: parts touch disjoint risk rows, user-days and, as a
 * session's events carry its user, disjoint sessions, and disjoint buckets of the event store. Their
 * transactions commit side by side without waiting for each other's row locks. Only a speed-up: the
 * storage stays correct for any split, since every transaction locks what it changes.
 */
export function partitionByUser(events: readonly SessionEvent[], n: number): SessionEvent[][] {
  const parts: SessionEvent[][] = Array.from({ length: n }, () => [])
  for (const e of events) parts[eventBucket(e) % n]!.push(e)
  return parts
}
