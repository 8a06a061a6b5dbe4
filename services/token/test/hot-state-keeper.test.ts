import { setTimeout as elapse } from 'node:timers/promises'
import type { KyselyPlugin } from 'kysely'
import { describe, expect, it } from 'vitest'
import { HotStateKeeper } from '../src/storage/hot-state-keeper.ts'
import { type TestApp, useTestApp } from './helpers/app.ts'

// No background work: the keepers under test are the only ones running.
const { app, config } = useTestApp('hot-state-keeper', { build: { background: false } })
const INTERVAL_MS = 20

/** A real database connection whose query results wait for `open()`: a round as slow as we like. */
function gatedDb() {
  let open!: () => void
  const opened = new Promise<void>((r) => {
    open = r
  })
  let entered!: () => void
  const firstQuery = new Promise<void>((r) => {
    entered = r
  })
  const seen = { queries: 0, inFlight: 0, maxInFlight: 0 }
  const gate: KyselyPlugin = {
    transformQuery: (args) => args.node,
    transformResult: async (args) => {
      seen.queries++
      seen.maxInFlight = Math.max(seen.maxInFlight, ++seen.inFlight)
      entered()
      await opened
      seen.inFlight--
      return args.result
    },
  }
  return { db: app.db.withPlugin(gate), open, firstQuery, seen }
}

const keeper = (db: TestApp['db']) =>
  new HotStateKeeper({
    db,
    redis: app.redis,
    keys: app.redisKeys,
    accessTtl: config.ACCESS_TOKEN_TTL,
    intervalMs: INTERVAL_MS,
    log: app.log,
  })

describe('hot-state keeper rounds', () => {
  it('a round in flight is joined, never run twice at once', async () => {
    await app.redis.del(app.redisKeys.rebuiltSentinel, app.redisKeys.hotStateLease)
    const gated = gatedDb()
    const k = keeper(gated.db)
    const first = k.runOnce()
    try {
      await gated.firstQuery
      const second = k.runOnce()
      k.start() // the timer's round finds the same one in flight
      expect(second).toBe(first)
    } finally {
      gated.open()
    }
    expect(await first).toEqual({ rebuilt: expect.any(Number) })
    await k.stop()
    // One rebuild's queries (revocations, then live sessions), one at a time.
    expect(gated.seen.maxInFlight).toBe(1)
  })

  it('a slow round keeps its lease: another instance does not start a second scan meanwhile', async () => {
    await app.redis.del(app.redisKeys.rebuiltSentinel, app.redisKeys.hotStateLease)
    const gated = gatedDb()
    const slow = keeper(gated.db)
    const other = keeper(app.db)
    const round = slow.runOnce()
    try {
      await gated.firstQuery
      // Time is the point here: well past the lease's 3 × interval, which only renewals keep alive.
      await elapse(INTERVAL_MS * 10)
      expect(await other.runOnce()).toBeUndefined()
    } finally {
      gated.open()
    }
    expect(await round).toEqual({ rebuilt: expect.any(Number) })
    expect(await app.redis.exists(app.redisKeys.rebuiltSentinel)).toBe(1)
  })
})
