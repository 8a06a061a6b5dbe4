import {
  type AuthContext,
  createAccessTokenVerifier,
  JwksKeySource,
  type KeySource,
  readSessionState,
  verifierPlugin,
  WriteProbe,
} from '@africhain/verifier'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Redis } from 'ioredis'
import type { AnalyticsConfig } from '../config.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** The same check `authenticate` runs, for a token kept past its request (the live stream re-checks). */
    verifyAccessToken: (token: string) => Promise<AuthContext>
  }
}

export type AuthOptions = {
  config: AnalyticsConfig
  /** Holds the token service's session state (`s:{sid}`). */
  redis: Redis
  /** Where public keys come from; default the token service's JWKS (fetched at start, refreshed). */
  keys?: KeySource
}

/**
 * Bearer access tokens from the token service: signature against its JWKS, pinned issuer and audience,
 * then the session's revocation state in Redis on every request (unknown state answers 503: fail closed).
 */
export const authPlugin = fp(
  async (app: FastifyInstance, opts: AuthOptions) => {
    let keys = opts.keys
    if (!keys) {
      const jwks = new JwksKeySource({
        url: new URL('/.well-known/jwks.json', opts.config.TOKEN_SERVICE_URL).toString(),
        onError: (err) => app.log.warn({ err: { message: (err as Error).message } }, 'JWKS fetch failed'),
      })
      await jwks.start()
      app.addHook('onClose', async () => jwks.stop())
      keys = jwks
    }
    const writeProbe = new WriteProbe(opts.redis)
    await writeProbe.start()
    app.addHook('onClose', async () => writeProbe.stop())
    const verify: (token: string) => Promise<AuthContext> = createAccessTokenVerifier({
      issuer: opts.config.TOKEN_ISSUER,
      audience: opts.config.TOKEN_AUDIENCE,
      keys,
      sessionState: (sid, sub) => readSessionState(opts.redis, sid, sub),
      // While Redis refuses writes (read-only replica, OOM) an "active" there may miss a revocation: 503.
      hotStateTrusted: () => writeProbe.writable,
    })
    app.decorate('verifyAccessToken', verify)
    await app.register(verifierPlugin, { verify })
  },
  { name: 'analytics-auth', fastify: '5.x', dependencies: ['analytics-read-store'] },
)
