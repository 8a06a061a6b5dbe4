import type { Redis } from 'ioredis'
import { isBusyGroupError, prefixedKey } from './keys.ts'

/** A stream entry as read: its fields (null when it was deleted from the stream) and its delivery count. */
export type RawEntry = { id: string; fields: string[] | null; deliveries: number }

type ReadReply = [string, [string, string[] | null][]][] | null

export type GroupTarget = { redis: Redis; stream: string; group: string; consumer: string; batchSize: number }

/**
 * The Redis commands of one consumer in one group, one function each. Delivery counts come from XPENDING:
 * XREADGROUP on the pending list and XAUTOCLAIM both count a delivery but do not return the count.
 */
export function groupCommands(t: GroupTarget) {
  const { redis, stream, group, consumer, batchSize } = t

  async function deliveryCounts(ids: string[]): Promise<Map<string, number>> {
    const counts = new Map<string, number>()
    if (ids.length === 0) return counts
    // The range may also hold other entries of ours (e.g. failed ones waiting for a retry): ask for room.
    const rows = (await redis.xpending(
      stream,
      group,
      ids[0]!,
      ids[ids.length - 1]!,
      ids.length + 1000,
      consumer,
    )) as [string, string, number, number][]
    for (const [id, , , n] of rows) counts.set(id, Number(n))
    return counts
  }

  /** Only entries still pending for this consumer (one acknowledged meanwhile needs nothing more). */
  async function withCounts(entries: [string, string[] | null][]): Promise<RawEntry[]> {
    const counts = await deliveryCounts(entries.map(([id]) => id))
    return entries
      .filter(([id]) => counts.has(id))
      .map(([id, fields]) => ({ id, fields, deliveries: counts.get(id)! }))
  }

  return {
    /** XGROUP CREATE … MKSTREAM; false when the group already existed. */
    async createGroup(startId: string): Promise<boolean> {
      try {
        await redis.xgroup('CREATE', prefixedKey(redis, stream), group, startId, 'MKSTREAM')
        return true
      } catch (err) {
        if (isBusyGroupError(err)) return false
        throw err
      }
    },

    /** This consumer's pending entries (delivered before, never acknowledged), oldest first. */
    async readPending(): Promise<RawEntry[]> {
      const reply = (await redis.xreadgroup(
        'GROUP',
        group,
        consumer,
        'COUNT',
        batchSize,
        'STREAMS',
        stream,
        '0',
      )) as ReadReply
      return withCounts(reply?.[0]?.[1] ?? [])
    },

    /** XAUTOCLAIM: entries idle in other consumers' lists longer than `idleMs`, now this consumer's. */
    async claim(
      cursor: string,
      idleMs: number,
    ): Promise<{ next: string; entries: RawEntry[]; deleted: string[] }> {
      const [next, claimed, deleted = []] = (await redis.xautoclaim(
        stream,
        group,
        consumer,
        idleMs,
        cursor,
        'COUNT',
        batchSize,
      )) as [string, ([string, string[] | null] | null)[], string[]?]
      const live = claimed.filter((e): e is [string, string[] | null] => e !== null)
      return { next, entries: await withCounts(live), deleted }
    },

    /** New entries (`>`), waiting up to `timeoutMs` on the blocking connection. */
    async readNew(blocking: Redis, timeoutMs: number): Promise<RawEntry[]> {
      const reply = (await blocking.xreadgroup(
        'GROUP',
        group,
        consumer,
        'COUNT',
        batchSize,
        'BLOCK',
        Math.max(timeoutMs, 1),
        'STREAMS',
        stream,
        '>',
      )) as ReadReply
      return (reply?.[0]?.[1] ?? []).map(([id, fields]) => ({ id, fields, deliveries: 1 }))
    },

    /** New entries (`>`) already in the stream, up to `count`, without waiting (the consumer's linger). */
    async readWaiting(count: number): Promise<RawEntry[]> {
      const reply = (await redis.xreadgroup(
        'GROUP',
        group,
        consumer,
        'COUNT',
        count,
        'STREAMS',
        stream,
        '>',
      )) as ReadReply
      return (reply?.[0]?.[1] ?? []).map(([id, fields]) => ({ id, fields, deliveries: 1 }))
    },

    async ack(ids: string[]): Promise<void> {
      if (ids.length > 0) await redis.xack(stream, group, ...ids)
    },

    /** Copies the entry to the dead-letter stream with why, then acknowledges it. */
    async deadLetter(
      entry: RawEntry,
      reason: string,
      deadLetterStream: string,
      maxLen: number,
    ): Promise<void> {
      await redis.xadd(
        deadLetterStream,
        'MAXLEN',
        '~',
        maxLen,
        '*',
        'origin-stream',
        stream,
        'origin-id',
        entry.id,
        'group',
        group,
        'consumer',
        consumer,
        'deliveries',
        String(entry.deliveries),
        'reason',
        reason,
        'dead-at',
        new Date().toISOString(),
        ...(entry.fields ?? []),
      )
      await redis.xack(stream, group, entry.id)
    },
  }
}
export type GroupCommands = ReturnType<typeof groupCommands>
