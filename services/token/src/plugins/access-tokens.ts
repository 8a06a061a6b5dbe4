import type { AuthContext } from '@africhain/verifier'
import { createAccessTokenVerifier, verifierPlugin } from '@africhain/verifier'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { TokenConfig } from '../config.ts'

declare module 'fastify' {
  interface FastifyInstance {
    verifyAccessToken: (token: string) => Promise<AuthContext>
  }
}

/**
 * Access-token verification (`app.authenticate`, introspection): the key ring's keys, then the session's
 * hot state. The token service owns the truth: a Redis miss is answered from MySQL (and re-warmed), not refused.
 */
export const accessTokensPlugin = fp(
  async (app: FastifyInstance, { config }: { config: TokenConfig }) => {
    const { state, trusted } = app.hotState
    const verify = createAccessTokenVerifier({
      issuer: config.TOKEN_ISSUER,
      audience: config.TOKEN_AUDIENCE,
      keys: app.keyRing,
      sessionState: (sid, sub) => state.read(sid, sub),
      hotStateTrusted: trusted,
      onUnknownSession: (sid, sub) => app.sessions.resolveUnknown(sid, sub),
    })
    app.decorate('verifyAccessToken', verify)
    await app.register(verifierPlugin, { verify })
  },
  {
    name: 'token-access-tokens',
    fastify: '5.x',
    dependencies: ['token-keys', 'token-hot-state', 'token-use-cases'],
  },
)
