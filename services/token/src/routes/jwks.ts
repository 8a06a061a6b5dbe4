import { described } from '@africhain/http'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'

const Jwk = Type.Object({
  kty: Type.String(),
  crv: Type.String(),
  x: Type.String(),
  kid: Type.String(),
  alg: Type.String(),
  use: Type.String(),
})

/** Public keys that may verify a live token: the signing key, keys about to sign, recently retired keys. */
export const jwksRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/.well-known/jwks.json',
    {
      schema: {
        summary: 'JSON Web Key Set',
        description:
          'Every public key that may still verify a live access token: pick the one whose `kid` is in the token’s header. A new key is published before it signs; cache for at most a minute.',
        operationId: 'jwks',
        tags: ['keys'],
        response: {
          200: described(
            Type.Object({ keys: Type.Array(Jwk, { description: 'Ed25519 public keys (RFC 8037 OKP)' }) }),
            'The public keys',
          ),
        },
      },
    },
    async (_request, reply) => {
      // Verifiers may cache for a minute; a new key is published KEY_ACTIVATION_DELAY before it signs.
      reply.header('Cache-Control', 'public, max-age=60')
      return app.keyRing.jwks()
    },
  )
}
