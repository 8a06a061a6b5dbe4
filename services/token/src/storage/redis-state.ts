import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { RedisClient } from '@africhain/bus'
import {
  markSessionActive,
  markSessionRevoked,
  parseSessionState,
  type SessionState,
  sessionKey,
} from '@africhain/verifier'
import type { Result } from 'ioredis'
import type { HotSessionState, LoginGuard } from '../domain/ports.ts'

export type { RedisClient } from '@africhain/bus'

const lua = (name: string) => readFileSync(new URL(`./lua/${name}`, import.meta.url), 'utf8')
const recordFailureLua = lua('record-login-failure-2.lua')
const holdLeaseLua = lua('hold-lease-1.lua')

declare module 'ioredis' {
  interface RedisCommander<Context> {
    recordLoginFailure(
      countKey: string,
      lockKey: string,
      threshold: number,
      windowMs: number,
      lockMs: number,
    ): Result<number, Context>
    holdLease(key: string, holder: string, ms: number): Result<number, Context>
  }
}

/** Registers the Lua scripts once per client (ioredis re-sends them after SCRIPT FLUSH or a restart). */
export function defineScripts(redis: RedisClient): void {
  if ((redis as { recordLoginFailure?: unknown }).recordLoginFailure === undefined) {
    redis.defineCommand('recordLoginFailure', { numberOfKeys: 2, lua: recordFailureLua })
    redis.defineCommand('holdLease', { numberOfKeys: 1, lua: holdLeaseLua })
  }
}

export function hotSessionState(redis: RedisClient): HotSessionState {
  return {
    async read(sid: string): Promise<SessionState> {
      return parseSessionState(await redis.get(sessionKey(sid)))
    },
    markActive: (sid, expiresAt) => markSessionActive(redis, sid, expiresAt),
    async markRevoked(sessions) {
      // One command per session; ioredis pipelines them, and on a cluster each goes to its own slot.
      await Promise.all(sessions.map((s) => markSessionRevoked(redis, s.id, s.until)))
    },
  }
}

/** Identifiers never appear in Redis keys in clear: a hash names them. */
const guardTag = (identifier: string) => createHash('sha256').update(identifier).digest('hex').slice(0, 32)

export function loginGuard(
  redis: RedisClient,
  opts: { threshold: number; windowSeconds: number; lockSeconds: number },
): LoginGuard {
  defineScripts(redis)
  return {
    async lockedFor(identifier) {
      const ms = await redis.pttl(`lf:{${guardTag(identifier)}}:lock`)
      return ms > 0 ? Math.ceil(ms / 1000) : 0
    },
    async recordFailure(identifier) {
      const tag = guardTag(identifier)
      const ms = await redis.recordLoginFailure(
        `lf:{${tag}}:n`,
        `lf:{${tag}}:lock`,
        opts.threshold,
        opts.windowSeconds * 1000,
        opts.lockSeconds * 1000,
      )
      return Math.ceil(Number(ms) / 1000)
    },
    async reset(identifier) {
      await redis.del(`lf:{${guardTag(identifier)}}:n`)
    },
  }
}
