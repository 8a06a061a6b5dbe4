import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { encodeEvent, type RiskAlert, type SessionEvent } from '@africhain/events'
import type { RedisClient } from './redis-client.ts'

const SCRIPT = readFileSync(new URL('./lua/publish-if-intact-1.lua', import.meta.url), 'utf8')
const SHA = createHash('sha1').update(SCRIPT).digest('hex')

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
  const args = [
    stream,
    recorded ?? '',
    maxLen === undefined ? '' : String(maxLen),
    ...events.flatMap(encodeEvent),
  ]
  // EVALSHA, and EVAL (which caches it again) after a restart or SCRIPT FLUSH. Not `defineCommand`: defined
  // on a client in use, its first call can land in an auto-pipeline made before it and break that pipeline.
  let reply: Reply
  try {
    reply = (await redis.evalsha(SHA, 1, ...args)) as Reply
  } catch (err) {
    if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err
    reply = (await redis.eval(SCRIPT, 1, ...args)) as Reply
  }
  if (reply[0] === 1) return { published: reply[1] }
  return { lost: true, holds: reply[1] === '' ? null : reply[1] }
}
