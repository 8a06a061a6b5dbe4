import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { requestContext } from './context.ts'
import { bearer, errors, LogoutAllBody, Revoked, RevokeSessionBody, Session } from './schemas.ts'

/** A user's sessions across devices, and revocation by the user or by an administrator. */
export const sessionRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/auth/sessions',
    {
      onRequest: app.authenticate,
      schema: {
        summary: "The caller's active sessions",
        security: bearer,
        response: { 200: Type.Object({ sessions: Type.Array(Session) }), ...errors(401, 503) },
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
        security: bearer,
        body: RevokeSessionBody,
        response: { 204: Type.Null(), ...errors(400, 401, 404, 503) },
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
        security: bearer,
        body: LogoutAllBody,
        response: { 200: Revoked, ...errors(400, 401, 503) },
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
        security: bearer,
        params: Type.Object(
          { userId: Type.String({ minLength: 1, maxLength: 64 }) },
          { additionalProperties: false },
        ),
        response: { 200: Revoked, ...errors(400, 401, 403, 404, 503) },
      },
    },
    // The account use case (domain/admin.ts): 404 USER_NOT_FOUND for a user that does not exist.
    async (request) => ({
      revoked: await app.accounts.revokeUser(request.params.userId, requestContext(request)),
    }),
  )
}
