import { WriteProbe } from '@africhain/verifier'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { HotSessionState } from '../domain/ports.ts'
import { HotStateKeeper } from '../storage/hot-state-keeper.ts'
import { hotSessionState } from '../storage/redis-state.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** Session state in Redis, and whether its reads can be trusted right now (Redis takes writes). */
    hotState: { state: HotSessionState; trusted: () => boolean }
  }
}

export type HotStateOptions = { background: boolean; accessTtl: number; checkMs: number }

/**
 * The hot session state in Redis: the adapter, the write probe (while Redis refuses writes its reads may
 * miss a revocation, and the verifier asks MySQL) and the keeper that rebuilds and replays it from MySQL.
 */
export const hotStatePlugin = fp(
  async (app: FastifyInstance, { background, accessTtl, checkMs }: HotStateOptions) => {
    const writeProbe = new WriteProbe(app.redis)
    const state = hotSessionState(app.redis, () => writeProbe.refused())
    const keeper = new HotStateKeeper({
      db: app.db,
      redis: app.redis,
      keys: app.redisKeys,
      accessTtl,
      intervalMs: checkMs,
      log: app.log.child({ component: 'hot-state' }),
    })
    app.decorate('hotState', { state, trusted: () => writeProbe.writable })
    if (background) {
      app.addHook('onReady', async () => {
        keeper.start()
        await writeProbe.start()
      })
    }
    app.addHook('onClose', async () => {
      await Promise.all([keeper.stop(), writeProbe.stop()])
    })
  },
  { name: 'token-hot-state', fastify: '5.x', dependencies: ['token-connections'] },
)
