import { randomBytes } from 'node:crypto'
import { type BusLogger, compareStreamIds, readGroupInfo, readStreamInfo } from '@africhain/bus'
import type { Redis } from 'ioredis'
import type { Kysely } from 'kysely'
import {
  type GapFinding,
  gapOnGroupCreated,
  missingForGroup,
  suspectTrim,
  undeliveredWithoutCounting,
} from '../domain/gaps.ts'
import { lastProcessedId, recordGap } from '../storage/stream-position.repository.ts'
import type { Database } from '../storage/tables.ts'

/** Counting undelivered entries with XRANGE is only worth it for a small backlog; a big one is checked later. */
const MAX_COUNTED_BACKLOG = 10_000

export type GapDetector = {
  /** Called by the consumer right after it created the group, before anything is read. */
  onGroupCreated(): Promise<void>
  /** Compares the group's counters with the stream; run at start (before reading) and periodically. */
  check(): Promise<void>
}

/**
 * Finds stream entries no worker will ever read and records them (see domain/gaps.ts). Cumulative losses
 * of one consumer-group incarnation are one gap row, keyed by an epoch marker kept in Redis next to the
 * stream: it vanishes with the stream and is renewed whenever the group is created again.
 */
export function createGapDetector(opts: {
  redis: Redis
  db: Kysely<Database>
  stream: string
  group: string
  logger: BusLogger
  now: () => Date
  onGap?: (gap: GapFinding) => void
}): GapDetector {
  const { redis, db, stream, group } = opts
  const log = opts.logger.child({ component: 'gap-detector' })
  const epochKey = `${stream}:epoch:${group}`

  async function record(gap: GapFinding): Promise<void> {
    await recordGap(db, { ...gap, stream }, opts.now())
    log.warn({ ...gap, stream }, 'stream gap: entries were lost before any worker read them')
    opts.onGap?.(gap)
  }

  async function epoch(): Promise<string> {
    await redis.set(epochKey, randomBytes(8).toString('hex'), 'NX')
    return (await redis.get(epochKey)) ?? 'unknown'
  }

  return {
    async onGroupCreated() {
      await redis.set(epochKey, randomBytes(8).toString('hex'))
      const [last, info] = await Promise.all([lastProcessedId(db, stream), readStreamInfo(redis, stream)])
      const gap = gapOnGroupCreated(last, info, compareStreamIds)
      if (gap) await record(gap)
    },

    async check() {
      const [info, groupInfo] = await Promise.all([
        readStreamInfo(redis, stream),
        readGroupInfo(redis, stream, group),
      ])
      if (!info || !groupInfo) return // no group yet: its creation runs onGroupCreated
      let undelivered = undeliveredWithoutCounting(info, groupInfo, compareStreamIds)
      if (undelivered === undefined) {
        if (groupInfo.lag === null || groupInfo.lag > MAX_COUNTED_BACKLOG) return
        const after = await redis.xrange(
          stream,
          `(${groupInfo.lastDeliveredId}`,
          '+',
          'COUNT',
          groupInfo.lag + 1,
        )
        undelivered = after.length
      }
      const missing = missingForGroup(info, groupInfo, undelivered)
      if (missing === null) {
        if (suspectTrim(info, groupInfo, compareStreamIds))
          await record({
            kind: 'trimmed_unread',
            fromId: groupInfo.lastDeliveredId,
            toId: info.firstEntryId,
            missing: null,
          })
        return
      }
      if (missing > 0)
        await record({
          kind: 'trimmed_unread',
          fromId: `epoch:${await epoch()}`,
          toId: info.firstEntryId,
          missing,
        })
    },
  }
}
