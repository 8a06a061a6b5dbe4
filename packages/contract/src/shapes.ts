import { type Static, Type } from 'typebox'

/**
 * The response shapes of the token service's API (docs/api.md, "Shapes"): one schema per concept. The
 * service validates, serialises and documents (OpenAPI) with them; the SDK takes their `Static` types, so
 * neither can drift from the other. No server code here: the SDK depends on this package, never on a service.
 */

/** What login and refresh-token answer: an access token and the refresh token that renews it. */
export const TokenPair = Type.Object({
  accessToken: Type.String(),
  refreshToken: Type.String(),
  tokenType: Type.Literal('Bearer'),
  expiresIn: Type.Integer(),
  refreshExpiresIn: Type.Integer(),
  sessionId: Type.String(),
})
export type TokenPair = Static<typeof TokenPair>

/** One active session of a user (`GET /auth/sessions`, an administrator's user view). */
export const Session = Type.Object({
  sessionId: Type.String(),
  current: Type.Boolean(),
  device: Type.Object({
    id: Type.Optional(Type.String()),
    platform: Type.String(),
    name: Type.Optional(Type.String()),
    userAgent: Type.Optional(Type.String()),
  }),
  ip: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
  lastActiveAt: Type.String({ format: 'date-time' }),
  expiresAt: Type.String({ format: 'date-time' }),
})
export type Session = Static<typeof Session>
