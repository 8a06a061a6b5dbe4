import type { Redis } from 'ioredis'
import { isNoSuchKeyError, prefixedKey } from './keys.ts'
import type { RedisClient } from './redis-client.ts'

/** What `XINFO STREAM` says about a stream (Redis 7 fields; older servers leave the 7.0 ones undefined). */
export type StreamInfo = {
  length: number
  lastGeneratedId: string
  firstEntryId: string | null
  lastEntryId: string | null
  /** Entries ever added (7.0+): with a group's `entriesRead`, tells how many entries a group never saw. */
  entriesAdded: number | undefined
  maxDeletedEntryId: string | undefined
  recordedFirstEntryId: string | undefined
}

/** What `XINFO GROUPS` says about one consumer group. */
export type GroupInfo = {
  name: string
  consumers: number
  pending: number
  lastDeliveredId: string
  /** Entries the group has read (7.0+); null when Redis cannot tell (e.g. after XGROUP SETID). */
  entriesRead: number | null
  /** Entries not yet delivered to the group (7.0+); null when Redis cannot tell (e.g. after trimming). */
  lag: number | null
}

function toMap(flat: unknown[]): Map<string, unknown> {
  const map = new Map<string, unknown>()
  for (let i = 0; i + 1 < flat.length; i += 2) map.set(String(flat[i]), flat[i + 1])
  return map
}

function entryId(entry: unknown): string | null {
  return Array.isArray(entry) && typeof entry[0] === 'string' ? entry[0] : null
}

function optionalNumber(v: unknown): number | null {
  return v === null || v === undefined ? null : Number(v)
}

/** `XINFO STREAM`, or null when the stream does not exist. */
export async function readStreamInfo(redis: RedisClient, stream: string): Promise<StreamInfo | null> {
  let raw: unknown
  try {
    raw = await redis.xinfo('STREAM', prefixedKey(redis, stream))
  } catch (err) {
    if (isNoSuchKeyError(err)) return null
    throw err
  }
  const m = toMap(raw as unknown[])
  return {
    length: Number(m.get('length')),
    lastGeneratedId: String(m.get('last-generated-id')),
    firstEntryId: entryId(m.get('first-entry')),
    lastEntryId: entryId(m.get('last-entry')),
    entriesAdded: m.has('entries-added') ? Number(m.get('entries-added')) : undefined,
    maxDeletedEntryId: m.has('max-deleted-entry-id') ? String(m.get('max-deleted-entry-id')) : undefined,
    recordedFirstEntryId: m.has('recorded-first-entry-id')
      ? String(m.get('recorded-first-entry-id'))
      : undefined,
  }
}

/** `XINFO GROUPS` for one group, or null when the stream or the group does not exist. */
export async function readGroupInfo(redis: Redis, stream: string, group: string): Promise<GroupInfo | null> {
  let raw: unknown
  try {
    raw = await redis.xinfo('GROUPS', prefixedKey(redis, stream))
  } catch (err) {
    if (isNoSuchKeyError(err)) return null
    throw err
  }
  for (const flat of raw as unknown[][]) {
    const m = toMap(flat)
    if (String(m.get('name')) !== group) continue
    return {
      name: group,
      consumers: Number(m.get('consumers')),
      pending: Number(m.get('pending')),
      lastDeliveredId: String(m.get('last-delivered-id')),
      entriesRead: optionalNumber(m.get('entries-read')),
      lag: optionalNumber(m.get('lag')),
    }
  }
  return null
}
