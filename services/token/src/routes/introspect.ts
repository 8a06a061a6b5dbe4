import { createHash, timingSafeEqual } from 'node:crypto'
import { ApiError, annotate, described, errorResponses } from '@africhain/http'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import type { TokenConfig } from '../config.ts'

/** `INTROSPECTION_CLIENTS=id:sha256hex,...` → id → SHA-256 of the secret (secrets are never configured in clear). */
function parseIntrospectionClients(raw: string | undefined): Map<string, Buffer> {
  const clients = new Map<string, Buffer>()
  for (const entry of (raw ?? '').split(',')) {
    const m = /^\s*([\w.-]{1,64}):([0-9a-f]{64})\s*$/i.exec(entry)
    if (m) clients.set(m[1]!, Buffer.from(m[2]!, 'hex'))
  }
  return clients
}

export const hashClientSecret = (secret: string) => createHash('sha256').update(secret).digest('hex')

const utf8 = new TextDecoder('utf-8', { fatal: true })

/** Form-urlencoded component (RFC 6749 §2.3.1: `+` is a space); undefined when the escapes are broken. */
function formDecode(s: string): string | undefined {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '))
  } catch {
    return undefined
  }
}

/**
 * `Basic base64(form(id) ":" form(secret))` (RFC 7617, RFC 6749 §2.3.1) → the pair, or undefined for anything
 * malformed: a missing colon, an empty part, broken base64, invalid UTF-8, broken percent-escapes. Attacker
 * input: it never throws.
 */
function parseBasicCredentials(header: string | undefined): { id: string; secret: string } | undefined {
  const m = /^basic +([A-Za-z0-9+/]{1,1024}={0,2})$/i.exec(header ?? '')
  if (!m || m[1]!.length % 4 !== 0) return undefined
  let decoded: string
  try {
    decoded = utf8.decode(Buffer.from(m[1]!, 'base64'))
  } catch {
    return undefined
  }
  const colon = decoded.indexOf(':')
  if (colon <= 0) return undefined
  const id = formDecode(decoded.slice(0, colon))
  const secret = formDecode(decoded.slice(colon + 1))
  if (!id || !secret) return undefined
  return { id, secret }
}

function authenticateClient(request: FastifyRequest, clients: Map<string, Buffer>): string {
  const credentials = parseBasicCredentials(request.headers.authorization)
  const expected = credentials ? clients.get(credentials.id) : undefined
  const actual = createHash('sha256')
    .update(credentials?.secret ?? '')
    .digest()
  // Compare even for unknown clients, so the answer time does not tell which ids exist.
  const ok = timingSafeEqual(actual, expected ?? Buffer.alloc(32)) && expected !== undefined
  if (!ok || !credentials)
    throw new ApiError('CLIENT_UNAUTHORIZED', 'client authentication failed', { 'WWW-Authenticate': 'Basic' })
  return credentials.id
}

const IntrospectBody = Type.Object(
  {
    token: Type.String({ minLength: 1, maxLength: 8192 }),
    token_type_hint: Type.Optional(Type.String({ maxLength: 32 })),
  },
  { additionalProperties: false },
)

const IntrospectReply = Type.Object({
  active: Type.Boolean(),
  sub: Type.Optional(Type.String()),
  sid: Type.Optional(Type.String()),
  exp: Type.Optional(Type.Integer()),
  iat: Type.Optional(Type.Integer()),
  jti: Type.Optional(Type.String()),
  roles: Type.Optional(Type.Array(Type.String())),
  iss: Type.Optional(Type.String()),
  aud: Type.Optional(Type.String()),
  token_type: Type.Optional(Type.String()),
  client_id: Type.Optional(Type.String()),
})

/** RFC 7662 token introspection for services that cannot verify tokens themselves. */
export const introspectRoutes: FastifyPluginAsyncTypebox<{ config: TokenConfig }> = async (
  app,
  { config },
) => {
  const clients = parseIntrospectionClients(config.INTROSPECTION_CLIENTS)
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: 16_384 },
    (_request, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))),
  )
  const spec = config.RATE_LIMIT_INTROSPECT
  app.post(
    '/auth/introspect',
    {
      config: {
        rateLimit: spec === 'off' ? false : { max: spec.max, timeWindow: spec.windowSeconds * 1000 },
      },
      schema: {
        summary: 'RFC 7662 introspection of an access token (HTTP Basic client credentials)',
        description:
          'For services that cannot verify tokens themselves: `token=` as a form or `{ "token": … }` as JSON, with the calling service’s client id and secret as HTTP Basic. An access token that is valid and whose session is not revoked answers `active: true` with its claims; anything else (expired, revoked, a refresh token, garbage) answers `{ "active": false }`.',
        operationId: 'introspect',
        tags: ['introspection'],
        security: [{ clientBasic: [] }],
        body: annotate(IntrospectBody, {
          fields: {
            token: 'the access token to introspect',
            token_type_hint: 'ignored (only access tokens are introspected)',
          },
          examples: [{ token: 'eyJhbGciOiJFZERTQSIsInR5cCI6ImF0K2p3dCJ9.eyJzdWIiOiJ1MSJ9.c2ln' }],
        }),
        response: {
          200: described(
            annotate(IntrospectReply, {
              fields: {
                active: 'whether the token is valid now; when false, no other field is present',
                sub: 'the user id',
                sid: 'the session id',
                exp: 'expiry, seconds since the epoch',
                iat: 'issued at, seconds since the epoch',
                roles: 'the user’s roles',
                client_id: 'the client that asked',
              },
            }),
            'The token’s state (RFC 7662 §2.2)',
          ),
          ...errorResponses({
            400: ['VALIDATION_FAILED'],
            401: ['CLIENT_UNAUTHORIZED'],
            413: ['PAYLOAD_TOO_LARGE'],
            415: ['UNSUPPORTED_MEDIA_TYPE'],
            429: ['RATE_LIMITED'],
            503: ['DEPENDENCY_UNAVAILABLE'],
          }),
        },
      },
    },
    async (request, reply) => {
      const clientId = authenticateClient(request, clients)
      reply.header('Cache-Control', 'no-store')
      try {
        const auth = await app.verifyAccessToken(request.body.token)
        return {
          active: true,
          sub: auth.userId,
          sid: auth.sessionId,
          exp: auth.exp,
          iat: auth.iat,
          jti: auth.jti,
          roles: auth.roles,
          iss: config.TOKEN_ISSUER,
          aud: config.TOKEN_AUDIENCE,
          token_type: 'access_token',
          client_id: clientId,
        }
      } catch (err) {
        if (err instanceof ApiError && err.statusCode === 401) return { active: false }
        throw err
      }
    },
  )
}
