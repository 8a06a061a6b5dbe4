import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { Counter } from 'prom-client'
import type { TokenConfig } from '../config.ts'
import type { AccountAdmin } from '../domain/use-cases/account-admin.ts'
import type { PasswordChange } from '../domain/use-cases/password-change.ts'
import { type SessionUseCases, sessionUseCases } from '../domain/use-cases/session-use-cases.ts'
import { accessTokenSigner } from '../keys/signer.ts'
import { sessionRepository } from '../storage/session.repository.ts'
import { userRepository } from '../storage/user.repository.ts'
import { accountServices, configuredLoginGuard } from './account-services.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** The session use cases (routes/auth.ts, routes/sessions.ts, the risk loop, the verifier). */
    sessions: SessionUseCases
    /** Account administration (routes/admin.ts, the CLI). */
    accounts: AccountAdmin
    /** Password changes (POST /auth/password, `pnpm cli user:set-password`). */
    passwords: PasswordChange
  }
}

/** The domain on its adapters: the stores (each commit nudges the relay), the hot state, the signer. */
export const useCasesPlugin = fp(
  async (app: FastifyInstance, { config }: { config: TokenConfig }) => {
    const counter = (name: string, help: string, labelNames: string[] = []) =>
      new Counter({ name, help, labelNames, registers: [app.metrics] })
    const refreshes = counter('token_refreshes_total', 'Successful refresh-token rotations')
    const reuse = counter('token_reuse_detections_total', 'Refresh-token reuse detections')
    const revocations = counter('token_revocations_total', 'Sessions revoked, by reason', ['reason'])
    const observe = {
      refreshed: () => refreshes.inc(),
      reuseDetected: () => reuse.inc(),
      revoked: (reason: string, n: number) => revocations.inc({ reason }, n),
    }

    const nudge = () => app.relay.nudge()
    const { db, redis, redisKeys } = app
    const users = userRepository(db, nudge)
    const sessions = sessionRepository(db, nudge, app.rotationDb)
    const hot = app.hotState.state
    app.decorate(
      'sessions',
      sessionUseCases({
        users,
        sessions,
        hot,
        guard: configuredLoginGuard(config, redis, redisKeys),
        signer: accessTokenSigner(app.keyRing, config.TOKEN_ISSUER, config.TOKEN_AUDIENCE),
        tokens: app.refreshTokens,
        policy: {
          accessTtl: config.ACCESS_TOKEN_TTL,
          refreshTtl: config.REFRESH_TOKEN_TTL,
          refreshLongTtl: config.REFRESH_TOKEN_LONG_TTL,
          reuseGrace: config.REFRESH_REUSE_GRACE,
          passwordCost: config.PASSWORD_HASH_COST,
        },
        observe,
      }),
    )
    const { accounts, passwords } = accountServices({
      config,
      redis,
      redisKeys,
      users,
      sessions,
      hot,
      observe,
    })
    app.decorate('accounts', accounts)
    app.decorate('passwords', passwords)
  },
  {
    name: 'token-use-cases',
    fastify: '5.x',
    dependencies: [
      'token-connections',
      'africhain-metrics',
      'token-keys',
      'token-outbox-relay',
      'token-hot-state',
    ],
  },
)
