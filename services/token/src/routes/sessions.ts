import { annotate, BEARER_ERRORS, described, errorResponses } from '@africhain/http'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { SessionComponent } from './components.ts'
import { actor, requestContext } from './context.ts'
import { bearer, LogoutAllBody, Revoked, RevokeSessionBody } from './schemas.ts'

/** A user's sessions across devices, and revocation by the user or by an administrator. */
export const sessionRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.addSchema(SessionComponent.schema)

  app.get(
    '/auth/sessions',
    {
      onRequest: app.authenticate,
      schema: {
        summary: "The caller's active sessions",
        description:
          'Every active session of the caller’s user, one per signed-in device; `current` marks the one asking.',
        operationId: 'listSessions',
        tags: ['sessions'],
        security: bearer,
        response: {
          200: described(
            Type.Object({ sessions: Type.Array(SessionComponent.ref) }),
            'The active sessions (revoked and expired ones are left out)',
          ),
          ...errorResponses({ 401: BEARER_ERRORS, 503: ['DEPENDENCY_UNAVAILABLE'] }),
        },
      },
    },
    async (request) => ({ sessions: await app.sessions.list(request.auth!) }),
  )

  app.post(
    '/auth/revoke-session',
    {
      onRequest: app.authenticate,
      schema: {
        summary: 'Revoke one of the caller’s sessions',
        description:
          'Signs a device out: that session’s refresh token and access tokens stop working at once.',
        operationId: 'revokeSession',
        tags: ['sessions'],
        security: bearer,
        body: annotate(RevokeSessionBody, {
          fields: { sessionId: 'a `sessionId` from GET /auth/sessions' },
          examples: [{ sessionId: '01936b2e-7c4a-7d2e-9f00-2b1c3d4e5f60' }],
        }),
        response: {
          204: described(Type.Null(), 'The session is revoked'),
          ...errorResponses({
            400: ['VALIDATION_FAILED'],
            401: BEARER_ERRORS,
            404: ['SESSION_NOT_FOUND'],
            413: ['PAYLOAD_TOO_LARGE'],
            415: ['UNSUPPORTED_MEDIA_TYPE'],
            503: ['DEPENDENCY_UNAVAILABLE'],
          }),
        },
      },
    },
    async (request, reply) => {
      await app.sessions.revokeSession(request.auth!, request.body.sessionId, requestContext(request))
      return reply.code(204).send(null)
    },
  )

  app.post(
    '/auth/logout-all',
    {
      onRequest: app.authenticate,
      schema: {
        summary: 'Revoke all the caller’s sessions (optionally keeping this one)',
        description:
          'Signs every device out; with `keepCurrent: true` the calling session stays. The body is optional.',
        operationId: 'logoutAll',
        tags: ['sessions'],
        security: bearer,
        body: LogoutAllBody,
        response: {
          200: described(Revoked, 'How many sessions were revoked'),
          ...errorResponses({
            400: ['VALIDATION_FAILED'],
            401: BEARER_ERRORS,
            413: ['PAYLOAD_TOO_LARGE'],
            415: ['UNSUPPORTED_MEDIA_TYPE'],
            503: ['DEPENDENCY_UNAVAILABLE'],
          }),
        },
      },
    },
    async (request) => ({
      revoked: await app.sessions.logoutAll(
        request.auth!,
        request.body?.keepCurrent === true,
        requestContext(request),
      ),
    }),
  )

  app.post(
    '/auth/admin/users/:userId/revoke-sessions',
    {
      onRequest: [app.authenticate, app.requireRole('security', 'admin')],
      schema: {
        summary: 'Revoke every session of a user (security team)',
        description:
          'Signs the user out everywhere (reason `admin`): every token of theirs stops working at once.',
        operationId: 'revokeUserSessions',
        tags: ['admin'],
        security: bearer,
        params: Type.Object(
          { userId: Type.String({ minLength: 1, maxLength: 64 }) },
          { additionalProperties: false },
        ),
        response: {
          200: described(Revoked, 'How many sessions were revoked'),
          ...errorResponses({
            400: ['VALIDATION_FAILED'],
            401: BEARER_ERRORS,
            403: ['FORBIDDEN'],
            404: ['USER_NOT_FOUND'],
            503: ['DEPENDENCY_UNAVAILABLE'],
          }),
        },
      },
    },
    // The account use case (domain/use-cases/account-admin.ts): 404 USER_NOT_FOUND for a user that does not exist.
    async (request) => ({
      revoked: await app.accounts.revokeUser(request.params.userId, actor(request), requestContext(request)),
    }),
  )
}
