import { decodeEvent, type SessionEvent } from '@africhain/events'
import { waitFor } from '@africhain/testing'
import type { Redis } from 'ioredis'

/** Every event the relay has published to the config's stream so far, decoded (schema-checked). */
export async function streamEvents(redis: Redis, stream: string): Promise<SessionEvent[]> {
  const entries = await redis.xrange(stream, '-', '+')
  return entries.map(([, fields]) => {
    const decoded = decodeEvent(fields)
    if (!decoded.ok) throw new Error(decoded.reason)
    return decoded.event
  })
}

/** Waits until the stream holds an event matching `match`, then returns every such event. */
export function eventsMatching(
  redis: Redis,
  stream: string,
  match: (e: SessionEvent) => boolean,
  what: string,
): Promise<SessionEvent[]> {
  return waitFor(async () => {
    const found = (await streamEvents(redis, stream)).filter(match)
    return found.length > 0 ? found : undefined
  }, what)
}
