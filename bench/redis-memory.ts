import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import { freePort, startProcess } from './lib/proc.ts'
import { type BenchResult, fmt, section } from './lib/report.ts'
import { type BenchEnv, login, pool, register, startTokenService } from './lib/token-service.ts'

export type MemoryOptions = { sessions: number; realLogins: number }

const WEEK_MS = 7 * 86_400_000

async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory')
  const m = /^used_memory:(\d+)/m.exec(info)
  if (!m) throw new Error('INFO memory has no used_memory')
  return Number(m[1])
}

/** used_memory once client buffers have settled (Redis frees idle query buffers within a couple of seconds). */
async function settledMemory(redis: Redis): Promise<number> {
  await sleep(1500)
  return usedMemory(redis)
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(100)
  }
}

/**
 * A Redis of our own on a spare loopback port: `used_memory` is instance-wide, and the shared Redis has other
 * writers (parallel test files) that would show up in the delta. Falls back to the shared Redis under the
 * bench prefix when `redis-server` is not installed.
 */
async function privateRedis(): Promise<{ url: string; stop: () => Promise<void>; private: boolean }> {
  const port = await freePort()
  const child = startProcess('redis-server', 'redis-server', [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
  ])
  const url = `redis://127.0.0.1:${port}`
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
  probe.on('error', () => {})
  try {
    await waitFor(
      'redis-server',
      async () => {
        if (child.proc.exitCode !== null || child.proc.signalCode !== null) throw new Error(child.output())
        try {
          if (probe.status !== 'ready') await probe.connect()
          return (await probe.ping()) === 'PONG'
        } catch {
          probe.disconnect()
          return false
        }
      },
      10_000,
    )
    probe.disconnect()
    return { url, private: true, stop: async () => void (await child.stop('SIGTERM')) }
  } catch (err) {
    probe.disconnect()
    await child.stop('SIGKILL')
    console.log(
      `  (no private redis-server: ${(err as Error).message.split('\n')[0]}; using the shared Redis)`,
    )
    return { url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', private: false, stop: async () => {} }
  }
}

/**
 * Redis memory per active session. Per session the service keeps exactly one key, `sess:{<22-char sid>}` =
 * "a" with a PX TTL (storage/redis-state.ts → verifier markSessionActive); login-failure counters are per
 * identifier and deleted on success, rate-limit counters are per IP. So:
 *  1. a real run: N logins through the HTTP API, used_memory before/after (minus the event stream's growth,
 *     which is bounded by EVENTS_STREAM_MAXLEN, not by sessions), plus a key-count check;
 *  2. the 100k figure: the same keys written as the service writes them, through a pipeline.
 */
export async function benchRedisMemory(env: BenchEnv, opts: MemoryOptions): Promise<BenchResult> {
  section(`Redis memory per active session (${fmt(opts.sessions)} sessions)`)
  const redisSrv = await privateRedis()
  const redis = new Redis(redisSrv.url)
  // On our own Redis the keys are named exactly as in production (no prefix); on the shared one, prefixed.
  const prefix = redisSrv.private ? '' : `${env.redisPrefix}mem:`
  const notes: string[] = []
  try {
    // 1. Real logins through the token service, on this Redis.
    const service = await startTokenService({ ...env, redisUrl: redisSrv.url, redisPrefix: prefix })
    let real: {
      perSession: number
      perSessionWithStream: number
      keysPerLogin: number
      keyUsage: number
      streamEntry: number
    }
    try {
      const identifier = `mem-${Date.now()}@bench.example`
      await register(service, identifier)
      const stream = `${prefix}session-events`
      // Start from a quiet state: hot-state rebuild done (sentinel set) and the relay idle.
      await waitFor('hot-state rebuild', async () => (await redis.exists(`${prefix}sess:rebuilt`)) === 1)
      await waitFor('relay to publish user.registered', async () => (await redis.xlen(stream)) >= 1)
      const keys0 = await redis.dbsize()
      const xlen0 = await redis.xlen(stream)
      const stream0 = (await redis.memory('USAGE', stream, 'SAMPLES', 0)) ?? 0
      const used0 = await settledMemory(redis)

      const t0 = performance.now()
      const sids = await pool(
        opts.realLogins,
        8,
        async (i) => (await login(service, identifier, `d${i}`)).sessionId,
      )
      const loginSeconds = (performance.now() - t0) / 1000
      await waitFor(
        'relay to publish session.created',
        async () => (await redis.xlen(stream)) >= xlen0 + sids.length,
      )

      const used1 = await settledMemory(redis)
      const keys1 = await redis.dbsize()
      const stream1 = (await redis.memory('USAGE', stream, 'SAMPLES', 0)) ?? 0
      const sample = sids.slice(0, 200)
      const usages = await Promise.all(sample.map((sid) => redis.memory('USAGE', `${prefix}sess:{${sid}}`)))
      const streamGrowth = stream1 - stream0
      real = {
        perSession: (used1 - used0 - streamGrowth) / sids.length,
        perSessionWithStream: (used1 - used0) / sids.length,
        keysPerLogin: (keys1 - keys0) / sids.length,
        keyUsage: usages.reduce<number>((a, u) => a + (u ?? 0), 0) / sample.length,
        streamEntry: streamGrowth / sids.length,
      }
      console.log(
        `  real: ${fmt(sids.length)} logins in ${loginSeconds.toFixed(1)} s (${fmt(sids.length / loginSeconds)}/s); ` +
          `keys +${keys1 - keys0}, used_memory +${fmt(used1 - used0)} B, of which event stream +${fmt(streamGrowth)} B`,
      )
      console.log(
        `  real: ${real.perSession.toFixed(0)} B/session hot state (${real.perSessionWithStream.toFixed(0)} B with the ` +
          `stream entry); MEMORY USAGE of one sess key ≈ ${real.keyUsage.toFixed(0)} B; ${real.keysPerLogin.toFixed(2)} keys/login`,
      )
    } finally {
      await service.stop()
    }

    // 2. 100k sessions' hot state, written exactly as markSessionActive writes it.
    const synth = prefix
    const keys0 = await redis.dbsize()
    const used0 = await settledMemory(redis)
    const t0 = performance.now()
    for (let done = 0; done < opts.sessions; done += 5000) {
      const p = redis.pipeline()
      for (let i = done; i < Math.min(done + 5000, opts.sessions); i++) {
        const sid = randomBytes(16).toString('base64url')
        p.set(`${synth}sess:{${sid}}`, 'a', 'PX', WEEK_MS, 'NX')
      }
      await p.exec()
    }
    const writeSeconds = (performance.now() - t0) / 1000
    const used1 = await settledMemory(redis)
    const keys1 = await redis.dbsize()
    const perSession = (used1 - used0) / opts.sessions
    console.log(
      `  100k: ${fmt(keys1 - keys0)} keys in ${writeSeconds.toFixed(1)} s, used_memory +${fmt(used1 - used0)} B ` +
        `→ ${perSession.toFixed(0)} B/session`,
    )
    if (keys1 - keys0 !== opts.sessions)
      notes.push(`expected ${opts.sessions} new keys, saw ${keys1 - keys0}`)
    notes.push(
      `real logins: ${real.perSession.toFixed(0)} B/session hot state, ${real.keysPerLogin.toFixed(2)} keys/login; ` +
        `${real.perSessionWithStream.toFixed(0)} B including its session.created stream entry (the stream is capped by EVENTS_STREAM_MAXLEN)`,
    )
    notes.push(
      `the event stream is not per session but grows ~${real.streamEntry.toFixed(0)} B per event: at the default ` +
        `EVENTS_STREAM_MAXLEN=1,000,000 it holds ≈ ${fmt((real.streamEntry * 1e6) / 2 ** 20)} MiB`,
    )
    if (!redisSrv.private)
      notes.push(
        `measured on the shared Redis (other writers add noise), keys carry the ${prefix.length}-char prefix ${prefix}`,
      )
    return {
      name: `Redis/session (${fmt(opts.sessions / 1000)}k)`,
      measured: `${perSession.toFixed(0)} B`,
      reference: '1024 B limit',
      ratio: perSession / 1024,
      goal: { op: '<=', value: 1 },
      notes,
    }
  } finally {
    if (!redisSrv.private) await cleanupPrefix(redis, prefix).catch(() => {})
    redis.disconnect()
    await redisSrv.stop()
  }
}

/** Deletes every key under `prefix` (SCAN + UNLINK; never FLUSHALL: the shared Redis has other users). */
export async function cleanupPrefix(redis: Redis, prefix: string): Promise<number> {
  let cursor = '0'
  let deleted = 0
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
    cursor = next
    if (keys.length > 0) deleted += await redis.unlink(...keys)
  } while (cursor !== '0')
  return deleted
}
