import { readFileSync } from 'node:fs'
import { encodeEvent, type RiskAlert, type SessionEvent } from '@africhain/events'
import type { RedisClient } from './redis-client.ts'

const SCRIPT = readFileSync(new URL('./lua/publish-if-intact-1.lua', import.meta.url), 'utf8')
const COMMAND = 'publishIfIntact1'

type Reply = [1, string[]] | [0, string]

/** Published, with the entry ids in order; or not, because the stream lost entries (`holds`: what it has). */
export type IntactPublish = { published: string[] } | { lost: true; holds: string | null }

/**
 * XADDs the events (optionally `MAXLEN ~ maxLen`) only if the stream's last generated id is at least
 * `recorded`, the highest id the outbox has for a published row: one Lua script, so no restart of Redis can
 * fall between the check and the publish (lua/publish-if-intact-1.lua). With no events it is the check alone.
 */
export async function publishIfIntact(
  redis: RedisClient,
  stream: string,
  recorded: string | null,
  events: readonly (SessionEvent | RiskAlert)[],
  maxLen?: number,
): Promise<IntactPublish> {
  const client = redis as RedisClient & Record<string, unknown>
  // ioredis sends EVALSHA, and the script itself after a SCRIPT FLUSH or a restart.
  if (client[COMMAND] === undefined) redis.defineCommand(COMMAND, { numberOfKeys: 1, lua: SCRIPT })
  const run = client[COMMAND] as (...args: string[]) => Promise<Reply>
  const reply = await run.call(
    redis,
    stream,
    recorded ?? '',
    maxLen === undefined ? '' : String(maxLen),
    ...events.flatMap(encodeEvent),
  )
  if (reply[0] === 1) return { published: reply[1] }
  return { lost: true, holds: reply[1] === '' ? null : reply[1] }
}
