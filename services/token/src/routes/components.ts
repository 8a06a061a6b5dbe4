import { Session, TokenPair } from '@africhain/contract'
import { annotate, component } from '@africhain/http'

/**
 * The token service's shared OpenAPI components: each registered once (`app.addSchema`) by the routes
 * plugin that answers with it, and referenced by `$ref` from its routes.
 */

export const TokenPairComponent = component(
  'TokenPair',
  annotate(TokenPair, {
    description: 'An access token and the refresh token that renews it, both for one session.',
    fields: {
      accessToken: 'a JWS (EdDSA, `typ: at+jwt`) to send as `Authorization: Bearer …`',
      refreshToken: 'opaque; single use: each refresh returns a new one (keep it secret, never in a URL)',
      tokenType: 'always `Bearer`',
      expiresIn: 'seconds until the access token expires',
      refreshExpiresIn: "seconds left until the session's absolute expiry",
      sessionId: 'the session both tokens belong to',
    },
    examples: [
      {
        accessToken: 'eyJhbGciOiJFZERTQSIsInR5cCI6ImF0K2p3dCIsImtpZCI6ImsxIn0.eyJzdWIiOiJ1MSJ9.c2ln',
        refreshToken: 'rt_3yJ8pXkV0qL2mN5bR7tW9zA1cE4gH6jK8oQ0sU2wY4',
        tokenType: 'Bearer',
        expiresIn: 900,
        refreshExpiresIn: 604800,
        sessionId: '01936b2e-7c4a-7d2e-9f00-2b1c3d4e5f60',
      },
    ],
  }),
)

export const SessionComponent = component(
  'Session',
  annotate(Session, {
    description: 'One of a user’s active sessions (one per signed-in device).',
    fields: {
      sessionId: 'pass it to POST /auth/revoke-session to end this session',
      current: 'whether this is the session of the token that asked',
      device: 'the device declared at login, with the User-Agent it came with',
      ip: 'the client address of the latest login or refresh',
      createdAt: 'when the session was created (login)',
      lastActiveAt: 'the latest login or refresh',
      expiresAt: 'the absolute expiry: no refresh extends it',
    },
    examples: [
      {
        sessionId: '01936b2e-7c4a-7d2e-9f00-2b1c3d4e5f60',
        current: true,
        device: { id: 'device-1', platform: 'android', name: "Amina's phone", userAgent: 'okhttp/4.12' },
        ip: '198.51.100.7',
        createdAt: '2026-12-01T08:30:00.000Z',
        lastActiveAt: '2026-12-01T09:10:00.000Z',
        expiresAt: '2026-12-08T08:30:00.000Z',
      },
    ],
  }),
)
