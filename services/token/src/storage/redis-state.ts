import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { RedisClient } from '@africhain/bus'
import { readSessionState } from '@africhain/verifier'
import { markSessionActive, markSessionRevoked } from '@africhain/verifier/state-writer'
import type { Result } from 'ioredis'
import type { HotSessionState, LoginGuard } from '../domain/ports.ts'
import type { DeploymentKeys } from './redis-keys.ts'

export type { RedisClient } from '@africhain/bus'

const lua = (name: string) => readFileSync(new URL(`./lua/${name}`, import.meta.url), 'utf8')
const takeAttemptLua = lua('take-login-attempt-2.lua')
const recordFailureLua = lua('record-login-failure-2.lua')
const releaseAttemptLua = lua('release-login-attempt-1.lua')
const holdLeaseLua = lua('hold-lease-1.lua')

declare module 'ioredis' {
  interface RedisCommander<Context> {
    takeLoginAttempt(
      countKey: string,
      lockKey: string,
      threshold: number,
      windowMs: number,
    ): Result<number, Context>
    recordLoginFailure(
      countKey: string,
      lockKey: string,
      threshold: number,
      lockMs: number,
      attempt: number,
    ): Result<number, Context>
    releaseLoginAttempt(countKey: string): Result<number, Context>
    holdLease(key: string, holder: string, ms: number): Result<number, Context>
  }
}

/** Registers the Lua scripts once per client (ioredis re-sends them after SCRIPT FLUSH or a restart). */
export function defineScripts(redis: RedisClient): void {
  if ((redis as { takeLoginAttempt?: unknown }).takeLoginAttempt === undefined) {
    redis.defineCommand('takeLoginAttempt', { numberOfKeys: 2, lua: takeAttemptLua })
    redis.defineCommand('recordLoginFailure', { numberOfKeys: 2, lua: recordFailureLua })
    redis.defineCommand('releaseLoginAttempt', { numberOfKeys: 1, lua: releaseAttemptLua })
    redis.defineCommand('holdLease', { numberOfKeys: 1, lua: holdLeaseLua })
  }
}

/** `onRefused` hears of every write Redis refused (READONLY, OOM), so verifiers stop trusting its reads. */
export function hotSessionState(redis: RedisClient, onRefused: () => void = () => {}): HotSessionState {
  const refused = (err: unknown): never => {
    onRefused()
    throw err
  }
  return {
    read: (sid, userId) => readSessionState(redis, sid, userId),
    markActive: (sid, userId, expiresAt) => markSessionActive(redis, sid, userId, expiresAt).catch(refused),
    async markRevoked(sessions) {
      // One command per session; ioredis pipelines them, and on a cluster each goes to its own slot.
      await Promise.all(sessions.map((s) => markSessionRevoked(redis, s.id, s.until))).catch(refused)
    },
  }
}

/** Accounts never appear in Redis keys in clear: a hash names them. */
const guardTag = (account: string) => createHash('sha256').update(account).digest('hex').slice(0, 32)

export function loginGuard(
  redis: RedisClient,
  keys: DeploymentKeys,
  opts: { threshold: number; windowSeconds: number; lockSeconds: number },
): LoginGuard {
  defineScripts(redis)
  const keysOf = (account: string) => {
    const tag = guardTag(account)
    return [keys.loginAttempts(tag), keys.loginLock(tag)] as const
  }
  return {
    async admit(account) {
      const [count, lock] = keysOf(account)
      const n = Number(await redis.takeLoginAttempt(count, lock, opts.threshold, opts.windowSeconds * 1000))
      if (n > 0) return { admitted: true, attempt: n }
      // 0: the window's attempts are all still being checked; one of them may yet succeed or lock.
      return { admitted: false, retryAfter: n === 0 ? 1 : Math.ceil(-n / 1000) }
    },
    async failed(account, attempt) {
      const [count, lock] = keysOf(account)
      const ms = await redis.recordLoginFailure(count, lock, opts.threshold, opts.lockSeconds * 1000, attempt)
      return Math.ceil(Number(ms) / 1000)
    },
    async release(account) {
      await redis.releaseLoginAttempt(keysOf(account)[0])
    },
    async succeeded(account) {
      await redis.del(keysOf(account)[0])
    },
    async unlock(account) {
      // One DEL of both keys: they share a hash tag, so one slot on a cluster, and no half-cleared state.
      await redis.del(...keysOf(account))
    },
    async lockedFor(account) {
      const ms = await redis.pttl(keysOf(account)[1])
      return ms > 0 ? Math.ceil(ms / 1000) : 0
    },
  }
}
