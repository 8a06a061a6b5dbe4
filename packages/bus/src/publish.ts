import { encodeEvent, type RiskAlert, type SessionEvent } from '@africhain/events'
import type { RedisClient } from './redis-client.ts'

/**
 * Appends events to a stream in one pipeline (fields `type` and `data`), optionally capped with
 * `MAXLEN ~ maxLen`. Resolves with the entry ids in order; rejects with the first failed XADD, in which
 * case some entries may have been written: callers publish at least once and consumers dedupe on `id`.
 */
export async function publish(
  redis: RedisClient,
  stream: string,
  events: readonly (SessionEvent | RiskAlert)[],
  maxLen?: number,
): Promise<string[]> {
  if (events.length === 0) return []
  const pipeline = redis.pipeline()
  for (const event of events) {
    if (maxLen === undefined) pipeline.xadd(stream, '*', ...encodeEvent(event))
    else pipeline.xadd(stream, 'MAXLEN', '~', maxLen, '*', ...encodeEvent(event))
  }
  const results = (await pipeline.exec()) ?? []
  return results.map(([err, id]) => {
    if (err) throw err
    return id as string
  })
}
