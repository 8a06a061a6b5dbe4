import type { AuthContext } from '@africhain/verifier'
import { createAccessTokenVerifier, verifierPlugin, WriteProbe } from '@africhain/verifier'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { Cluster, type Redis } from 'ioredis'
import { Counter, Gauge } from 'prom-client'
import type { TokenConfig } from '../config.ts'
import type { AccountAdmin } from '../domain/use-cases/account-admin.ts'
import type { PasswordChange } from '../domain/use-cases/password-change.ts'
import { type SessionUseCases, sessionUseCases } from '../domain/use-cases/session-use-cases.ts'
import { OutboxRelay } from '../events/outbox-relay.ts'
import { riskAlertConsumer } from '../events/risk-alerts.ts'
import { keyEncryption } from '../keys/key-crypto.ts'
import { KeyRing } from '../keys/key-ring.ts'
import { accessTokenSigner } from '../keys/signer.ts'
import { HotStateKeeper } from '../storage/hot-state-keeper.ts'
import { hotSessionState } from '../storage/redis-state.ts'
import { sessionRepository } from '../storage/session.repository.ts'
import { userRepository } from '../storage/user.repository.ts'
import { accountServices, configuredLoginGuard } from './account-services.ts'

declare module 'fastify' {
  interface FastifyInstance {
    sessions: SessionUseCases
    /** Account administration (routes/admin.ts, the CLI). */
    accounts: AccountAdmin
    /** Password changes (POST /auth/password, `pnpm cli user:set-password`). */
    passwords: PasswordChange
    keyRing: KeyRing
    relay: OutboxRelay
    verifyAccessToken: (token: string) => Promise<AuthContext>
  }
}

export type SessionsPluginOptions = { config: TokenConfig; background: boolean; hotStateCheckMs: number }

/** Wires the domain to its adapters: keys, stores, hot state, relay, verifier. The one place that builds them. */
export const sessionsPlugin = fp(
  async (app: FastifyInstance, { config, background, hotStateCheckMs }: SessionsPluginOptions) => {
    const { db, redis, redisKeys } = app
    if (config.KEY_ENCRYPTION_SECRET === undefined) {
      app.log.warn(
        'KEY_ENCRYPTION_SECRET is not set: private signing keys are stored unencrypted in the database',
      )
    }
    const keyRing = new KeyRing({
      db,
      encryption: keyEncryption(config.KEY_ENCRYPTION_SECRET),
      accessTtl: config.ACCESS_TOKEN_TTL,
      log: app.log.child({ component: 'key-ring' }),
    })
    await keyRing.ensureKey()

    const published = new Counter({
      name: 'token_events_published_total',
      help: 'Events relayed to the stream',
      registers: [app.metrics],
    })
    const backlog = new Gauge({
      name: 'token_outbox_backlog',
      help: 'Events waiting in the outbox',
      registers: [app.metrics],
    })
    const relay = new OutboxRelay({
      db,
      redis,
      stream: config.EVENTS_STREAM,
      maxLen: config.EVENTS_STREAM_MAXLEN,
      leaseKey: redisKeys.relayLease,
      log: app.log.child({ component: 'outbox-relay' }),
      onPublished: (n) => published.inc(n),
      onBacklog: (n) => backlog.set(n),
    })
    const nudge = () => relay.nudge()

    const refreshes = new Counter({
      name: 'token_refreshes_total',
      help: 'Successful refresh-token rotations',
      registers: [app.metrics],
    })
    const reuse = new Counter({
      name: 'token_reuse_detections_total',
      help: 'Refresh-token reuse detections',
      registers: [app.metrics],
    })
    const revocations = new Counter({
      name: 'token_revocations_total',
      help: 'Sessions revoked, by reason',
      labelNames: ['reason'],
      registers: [app.metrics],
    })

    // While Redis refuses writes its reads may miss a revocation: the verifier then asks MySQL.
    const writeProbe = new WriteProbe(redis)
    const hot = hotSessionState(redis, () => writeProbe.refused())
    const users = userRepository(db, nudge)
    const sessions = sessionRepository(db, nudge, app.rotationDb)
    const service = sessionUseCases({
      users,
      sessions,
      hot,
      guard: configuredLoginGuard(config, redis, redisKeys),
      signer: accessTokenSigner(keyRing, config.TOKEN_ISSUER, config.TOKEN_AUDIENCE),
      policy: {
        accessTtl: config.ACCESS_TOKEN_TTL,
        refreshTtl: config.REFRESH_TOKEN_TTL,
        refreshLongTtl: config.REFRESH_TOKEN_LONG_TTL,
        reuseGrace: config.REFRESH_REUSE_GRACE,
        passwordCost: config.PASSWORD_HASH_COST,
      },
      observe: {
        refreshed: () => refreshes.inc(),
        reuseDetected: () => reuse.inc(),
        revoked: (reason, n) => revocations.inc({ reason }, n),
      },
    })

    const { accounts, passwords } = accountServices({
      config,
      redis,
      redisKeys,
      users,
      sessions,
      hot,
      observe: { revoked: (reason, n) => revocations.inc({ reason }, n) },
    })

    const verify = createAccessTokenVerifier({
      issuer: config.TOKEN_ISSUER,
      audience: config.TOKEN_AUDIENCE,
      keys: keyRing,
      sessionState: (sid, sub) => hot.read(sid, sub),
      hotStateTrusted: () => writeProbe.writable,
      // The token service owns the truth: a Redis miss is answered from MySQL (and re-warmed), not refused.
      onUnknownSession: (sid, sub) => service.resolveUnknown(sid, sub),
    })
    app.decorate('sessions', service)
    app.decorate('accounts', accounts)
    app.decorate('passwords', passwords)
    app.decorate('keyRing', keyRing)
    app.decorate('relay', relay)
    app.decorate('verifyAccessToken', verify)
    await app.register(verifierPlugin, { verify })

    const alertOutcomes = new Counter({
      name: 'token_risk_alerts_total',
      help: 'risk.alert events consumed, by outcome',
      labelNames: ['outcome'],
      registers: [app.metrics],
    })
    // The consumer runs off the request path: its own connection may queue while Redis reconnects.
    const alertsRedis = (
      redis instanceof Cluster
        ? redis.duplicate([], { lazyConnect: false, enableOfflineQueue: true })
        : redis.duplicate({ lazyConnect: false, enableOfflineQueue: true })
    ) as Redis
    alertsRedis.on('error', () => {}) // reported by the main client and the consumer
    const alerts = riskAlertConsumer({
      redis: alertsRedis,
      stream: config.ALERTS_STREAM,
      threshold: config.RISK_AUTO_REVOKE_SCORE,
      sessions: service,
      log: app.log,
      onOutcome: (outcome) => alertOutcomes.inc({ outcome }),
    })

    let closing = false
    // Redis may be down at start: keep trying to create the group until it answers (or we close).
    const startAlerts = async () => {
      for (let delay = 250; !closing; delay = Math.min(delay * 2, 5_000)) {
        try {
          return await alerts.start()
        } catch (err) {
          app.log.warn({ err: { message: (err as Error).message } }, 'risk alert consumer not started yet')
          await new Promise((r) => setTimeout(r, delay))
        }
      }
    }

    const keeper = new HotStateKeeper({
      db,
      redis,
      keys: redisKeys,
      accessTtl: config.ACCESS_TOKEN_TTL,
      intervalMs: hotStateCheckMs,
      log: app.log.child({ component: 'hot-state' }),
    })
    if (background) {
      app.addHook('onReady', async () => {
        relay.start()
        void startAlerts()
        keyRing.start((err) =>
          app.log.warn({ err: { message: (err as Error).message } }, 'key reload failed'),
        )
        keeper.start()
        await writeProbe.start()
      })
    }
    app.addHook('preClose', async () => {
      closing = true
      keyRing.stop()
      await Promise.all([relay.stop(), alerts.stop(), keeper.stop(), writeProbe.stop()])
      alertsRedis.disconnect()
    })
  },
  { name: 'token-sessions', fastify: '5.x', dependencies: ['token-connections', 'africhain-metrics'] },
)
