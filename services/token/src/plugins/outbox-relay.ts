import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { Counter, Gauge } from 'prom-client'
import { type OutboxRelay, tokenOutboxRelay } from '../events/outbox-relay.ts'
import type { BackgroundOptions } from './options.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** Publishes committed outbox events to the stream; `nudge()` after a commit that wrote some. */
    relay: OutboxRelay
  }
}

/** The outbox relay, running while `background`: the one place it is constructed. */
export const outboxRelayPlugin = fp(
  async (app: FastifyInstance, { config, background }: BackgroundOptions) => {
    const published = new Counter({
      name: 'token_events_published_total',
      help: 'Events relayed to the stream',
      registers: [app.metrics],
    })
    const batches = new Counter({
      name: 'token_outbox_batches_total',
      help: 'Batches relayed to the stream (events relayed ÷ batches: events per round)',
      registers: [app.metrics],
    })
    const backlog = new Gauge({
      name: 'token_outbox_backlog',
      help: 'Events waiting in the outbox',
      registers: [app.metrics],
    })
    const republished = new Counter({
      name: 'token_events_republished_total',
      help: 'Published events relayed again because Redis lost them (a restart without data, an older snapshot)',
      registers: [app.metrics],
    })
    const relay = tokenOutboxRelay({
      db: app.db,
      redis: app.redis,
      stream: config.EVENTS_STREAM,
      maxLen: config.EVENTS_STREAM_MAXLEN,
      retentionMs: config.OUTBOX_RETENTION * 1000,
      leaseKey: app.redisKeys.relayLease,
      log: app.log.child({ component: 'outbox-relay' }),
      onPublished: (n) => {
        published.inc(n)
        batches.inc()
      },
      onBacklog: (n) => backlog.set(n),
      onRepublish: (n) => republished.inc(n),
    })
    app.decorate('relay', relay)
    if (background) app.addHook('onReady', async () => relay.start())
    app.addHook('onClose', () => relay.stop())
  },
  { name: 'token-outbox-relay', fastify: '5.x', dependencies: ['token-connections', 'africhain-metrics'] },
)
