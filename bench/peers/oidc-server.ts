import { createServer } from 'node:http'
import { Redis } from 'ioredis'
import Provider from 'oidc-provider'
import { CLIENT } from './oidc-client.ts'
import { redisAdapterFactory } from './oidc-redis-adapter.ts'

/**
 * oidc-provider as a peer: refresh-token grant with rotation, introspection and revocation on, a Redis
 * adapter (keys under REDIS_KEY_PREFIX), its default opaque tokens, production defaults otherwise. The
 * bench cannot click through an authorization-code login, so POST /bench/grant makes what one leaves
 * behind — a Grant with `openid offline_access`, a refresh token and an access token — through the
 * provider's own models (the same saves the authorization_code grant does).
 */

const port = Number(process.env.PORT)
const issuer = `http://127.0.0.1:${port}`
const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', {
  keyPrefix: process.env.REDIS_KEY_PREFIX ?? 'bench:oidc:',
})
const provider = new Provider(issuer, {
  adapter: redisAdapterFactory(redis),
  clients: [
    {
      ...CLIENT,
      grant_types: ['authorization_code', 'refresh_token'],
      redirect_uris: ['https://client.example/cb'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_post',
    },
  ],
  features: {
    introspection: { enabled: true },
    revocation: { enabled: true },
    devInteractions: { enabled: false },
  },
  scopes: ['openid', 'offline_access'],
  rotateRefreshToken: true,
  issueRefreshToken: async () => true,
  findAccount: async (_ctx: unknown, sub: string) => ({ accountId: sub, claims: async () => ({ sub }) }),
  ttl: { AccessToken: 900, RefreshToken: 7 * 86_400, Grant: 30 * 86_400 },
})
provider.proxy = false

async function newGrant(accountId: string) {
  const client = await provider.Client.find(CLIENT.client_id)
  const grant = new provider.Grant({ accountId, clientId: CLIENT.client_id })
  grant.addOIDCScope('openid offline_access')
  const grantId = await grant.save()
  const common = { accountId, grantId, client, scope: 'openid offline_access', gty: 'authorization_code' }
  const refreshToken = await new provider.RefreshToken({
    ...common,
    iiat: Math.floor(Date.now() / 1000),
  }).save()
  const accessToken = await new provider.AccessToken(common).save()
  return { grantId, refreshToken, accessToken }
}

const callback = provider.callback()
const server = createServer((req, res) => {
  if (req.method === 'POST' && req.url === '/bench/grant') {
    newGrant(`user-${Math.random().toString(36).slice(2)}`).then(
      (body) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body)),
      (err: Error) => res.writeHead(500).end(err.message),
    )
    return
  }
  callback(req, res)
})
server.listen(port, '127.0.0.1')
process.once('SIGTERM', () => {
  server.close()
  redis.disconnect()
  process.exit(0)
})
