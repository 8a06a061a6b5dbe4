import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readSessionState, sessionKey } from '../src/index.ts'

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const prefix = `test:verifier:${randomBytes(4).toString('hex')}:`
const redis = new Redis(REDIS_URL, { keyPrefix: prefix, maxRetriesPerRequest: 1 })
const watcher = new Redis(REDIS_URL)
const commands: string[][] = []

/**
 * MONITOR lines can trail the replies: sends a marker GET and waits until MONITOR has shown it, so every
 * command sent before has shown too. Returns the index of the marker's line.
 */
async function caughtUp(): Promise<number> {
  const marker = `${prefix}marker-${Math.random()}`
  await redis.get(marker.slice(prefix.length))
  // Two waits per count, well inside vitest's 5 s per test, so a slow MONITOR says so instead of timing out.
  const deadline = Date.now() + 2_000
  for (;;) {
    const at = commands.findIndex((c) => c.includes(marker))
    if (at >= 0) return at
    if (Date.now() > deadline) throw new Error('MONITOR never showed the marker')
    await new Promise((r) => setTimeout(r, 10))
  }
}

/** The commands Redis ran on this file's keys (seen through MONITOR) while `work` ran, name first. */
async function commandsDuring(work: () => Promise<unknown>): Promise<string[][]> {
  // The setup's commands (the SETs before `work`) must not be counted as `work`'s.
  await caughtUp()
  commands.length = 0
  await work()
  return commands.slice(0, await caughtUp())
}

beforeAll(async () => {
  const monitor = await watcher.monitor()
  monitor.on('monitor', (_time: string, args: string[]) => {
    if (args.slice(1).some((a) => a.startsWith(prefix))) commands.push(args)
  })
})
afterAll(async () => {
  const keys = await new Redis(REDIS_URL).keys(`${prefix}*`)
  if (keys.length > 0) await new Redis(REDIS_URL).del(...keys)
  redis.disconnect()
  watcher.disconnect()
})

describe('readSessionState on a single Redis', () => {
  it('answers every read of one event-loop turn from one MGET, each with its own state', async () => {
    const sids = Array.from({ length: 40 }, (_, i) => `sid-${i}`)
    for (const [i, sid] of sids.entries()) {
      if (i % 4 === 0) await redis.set(sessionKey(sid), 'a:u1')
      if (i % 4 === 1) await redis.set(sessionKey(sid), 'r')
      if (i % 4 === 2) await redis.set(sessionKey(sid), 'a:someone-else')
      // i % 4 === 3: no entry
    }
    let states: string[] = []
    const ran = await commandsDuring(async () => {
      states = await Promise.all(sids.map((sid) => readSessionState(redis, sid, 'u1')))
    })
    expect(states).toEqual(sids.map((_, i) => ['active', 'revoked', 'foreign', 'unknown'][i % 4]))
    expect(ran.map((c) => c[0]!.toLowerCase())).toEqual(['mget'])
  })

  it('splits a busy turn into MGETs of at most 128 keys, every read answered', async () => {
    const sids = Array.from({ length: 300 }, (_, i) => `busy-${i}`)
    await redis.set(sessionKey('busy-299'), 'r')
    let states: string[] = []
    const ran = await commandsDuring(async () => {
      states = await Promise.all(sids.map((sid) => readSessionState(redis, sid, 'u1')))
    })
    expect(ran.map((c) => [c[0]!.toLowerCase(), c.length - 1])).toEqual([
      ['mget', 128],
      ['mget', 128],
      ['mget', 44],
    ])
    expect(states.at(-1)).toBe('revoked')
    expect(states.slice(0, -1).every((s) => s === 'unknown')).toBe(true)
  })

  // The services' clients run with ioredis's auto-pipelining on: the batch must not change what a read sees.
  it.each([
    ['a plain client', false],
    ['an auto-pipelining client', true],
  ])(
    'on %s, a read asked for after a revocation was answered sees it, even while an earlier MGET is in flight',
    async (_, enableAutoPipelining) => {
      const client = new Redis(REDIS_URL, { keyPrefix: prefix, enableAutoPipelining })
      const sid = `in-flight-${enableAutoPipelining}`
      await client.set(sessionKey(sid), 'a:u1')
      const before = readSessionState(client, sid, 'u1')
      // Let that read's MGET go out, then revoke on another connection and read again.
      await new Promise((r) => setImmediate(r))
      const other = new Redis(REDIS_URL, { keyPrefix: prefix })
      await other.set(sessionKey(sid), 'r')
      other.disconnect()
      const after = readSessionState(client, sid, 'u1')
      expect(await after).toBe('revoked')
      expect(['active', 'revoked']).toContain(await before)
      client.disconnect()
    },
  )

  it('a failed MGET fails every read of its batch (the verifier then fails closed)', async () => {
    const down = new Redis(REDIS_URL, { keyPrefix: prefix })
    await down.ping()
    down.disconnect() // closed for good: every command now fails
    const reads = ['a', 'b', 'c'].map((sid) => readSessionState(down, sid, 'u1'))
    const settled = await Promise.allSettled(reads)
    expect(settled.map((s) => s.status)).toEqual(['rejected', 'rejected', 'rejected'])
  })
})
