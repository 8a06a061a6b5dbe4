import { generateKeyPairSync, randomUUID } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { sessionKey } from '@africhain/verifier'
import { createSigner } from 'fast-jwt'
import type { Redis } from 'ioredis'

export const ISSUER = 'africhain-token-service'
export const AUDIENCE = 'africhain'

export type TokenIssuer = {
  /** Base URL to use as TOKEN_SERVICE_URL: serves /.well-known/jwks.json. */
  url: string
  /** Mints an access token like the token service's and marks its session active in Redis. */
  mint(
    userId: string,
    roles?: string[],
    opts?: { sessionState?: 'a' | 'r' | null; expiresIn?: number; issuedSecondsAgo?: number },
  ): Promise<string>
  close(): Promise<void>
}

/** A stand-in for the token service's signing side: an Ed25519 key, its JWKS over HTTP, and session state. */
export async function startTokenIssuer(redis: Redis): Promise<TokenIssuer> {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  const kid = randomUUID()
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid, alg: 'EdDSA', use: 'sig' }
  const server: Server = createServer((req, res) => {
    if (req.url === '/.well-known/jwks.json') {
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify({ keys: [jwk] }))
    } else {
      res.statusCode = 404
      res.end()
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const privatePem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()

  return {
    url: `http://127.0.0.1:${port}`,
    async mint(userId, roles = ['user'], opts = {}) {
      const sid = randomUUID()
      const sign = createSigner({
        algorithm: 'EdDSA',
        key: privatePem,
        kid,
        header: { alg: 'EdDSA', typ: 'at+jwt' },
        iss: ISSUER,
        aud: AUDIENCE,
        expiresIn: (opts.expiresIn ?? 900) * 1000,
        ...(opts.issuedSecondsAgo ? { clockTimestamp: Date.now() - opts.issuedSecondsAgo * 1000 } : {}),
      })
      const state = opts.sessionState === undefined ? `a:${userId}` : opts.sessionState
      if (state !== null) await redis.set(sessionKey(sid), state, 'EX', 3600)
      return sign({ sub: userId, sid, jti: randomUUID(), roles })
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
