import { BEARER_ERRORS, described, type ErrorCode, errorResponses } from '@africhain/http'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { actor, requestContext } from './context.ts'
import { bearer, SessionIdParams, UserDetail, UserIdParams, UserLookupQuery, UserProfile } from './schemas.ts'

/** The errors every admin route can answer, plus its 404 (when it names something that may not exist). */
const adminErrors = (notFound?: ErrorCode) => {
  const codes: Record<number, readonly ErrorCode[]> = {
    400: ['VALIDATION_FAILED'],
    401: BEARER_ERRORS,
    403: ['FORBIDDEN'],
    503: ['DEPENDENCY_UNAVAILABLE'],
  }
  if (notFound) codes[404] = [notFound]
  return errorResponses(codes)
}

/**
 * `/auth/admin/*`: what the security team and administrators do to accounts and sessions (the older
 * revoke-sessions route is in routes/sessions.ts). Roles are checked in onRequest, after the bearer token
 * and before the body is read. Disable and enable are `admin` only: they lock a person out of the service,
 * where the security team's actions only end sessions or a lock.
 */
export const adminRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const security = [app.authenticate, app.requireRole('security', 'admin')]
  const admin = [app.authenticate, app.requireRole('admin')]
  const done = (what: string) => described(Type.Null(), what)

  app.get(
    '/auth/admin/users',
    {
      onRequest: security,
      schema: {
        summary: 'Find a user by identifier (security team)',
        description:
          'The identifier is normalised as at login (NFKC, emails case-folded, phone punctuation removed), ' +
          'so any spelling of it finds the user. `users` holds 0 or 1 profile; a value that is neither an ' +
          'email address nor an E.164 number answers 400 VALIDATION_FAILED.',
        operationId: 'findUser',
        tags: ['admin'],
        security: bearer,
        querystring: UserLookupQuery,
        response: {
          200: described(Type.Object({ users: Type.Array(UserProfile) }), 'The user, or none'),
          ...adminErrors(),
        },
      },
    },
    async (request) => ({ users: await app.accounts.findByIdentifier(request.query.identifier) }),
  )

  app.get(
    '/auth/admin/users/:userId',
    {
      onRequest: security,
      schema: {
        summary: 'A user’s profile and active sessions (security team)',
        description: '`current` marks the caller’s own session, if it is among them.',
        operationId: 'getUser',
        tags: ['admin'],
        security: bearer,
        params: UserIdParams,
        response: {
          200: described(UserDetail, 'The profile and the active sessions'),
          ...adminErrors('USER_NOT_FOUND'),
        },
      },
    },
    async (request) => app.accounts.profile(request.params.userId, actor(request)),
  )

  app.post(
    '/auth/admin/users/:userId/unlock',
    {
      onRequest: security,
      schema: {
        summary: 'Lift a user’s login lock (security team)',
        description: 'Clears the lock and the failed-attempt count; emits `user.unlocked` with `actorId`.',
        operationId: 'unlockUser',
        tags: ['admin'],
        security: bearer,
        params: UserIdParams,
        response: { 204: done('The lock is lifted'), ...adminErrors('USER_NOT_FOUND') },
      },
    },
    async (request, reply) => {
      await app.accounts.unlock(request.params.userId, actor(request), requestContext(request))
      return reply.code(204).send(null)
    },
  )

  app.post(
    '/auth/admin/users/:userId/disable',
    {
      onRequest: admin,
      schema: {
        summary: 'Disable a user (administrators)',
        description:
          'Revokes every session (reason `admin`); login and refresh then answer 403 USER_DISABLED. ' +
          'Emits `user.disabled` with `actorId`; disabling a disabled user changes nothing.',
        operationId: 'disableUser',
        tags: ['admin'],
        security: bearer,
        params: UserIdParams,
        response: { 204: done('Disabled: every session is revoked'), ...adminErrors('USER_NOT_FOUND') },
      },
    },
    async (request, reply) => {
      await app.accounts.disable(request.params.userId, actor(request), requestContext(request))
      return reply.code(204).send(null)
    },
  )

  app.post(
    '/auth/admin/users/:userId/enable',
    {
      onRequest: admin,
      schema: {
        summary: 'Enable a disabled user (administrators)',
        description:
          'Login works again (revoked sessions stay revoked). Emits `user.enabled` with `actorId`.',
        operationId: 'enableUser',
        tags: ['admin'],
        security: bearer,
        params: UserIdParams,
        response: { 204: done('Enabled: the user can log in again'), ...adminErrors('USER_NOT_FOUND') },
      },
    },
    async (request, reply) => {
      await app.accounts.enable(request.params.userId, actor(request), requestContext(request))
      return reply.code(204).send(null)
    },
  )

  app.post(
    '/auth/admin/sessions/:sessionId/revoke',
    {
      onRequest: security,
      schema: {
        summary: 'Revoke one session of any user (security team)',
        description: 'Reason `admin`. A session that already ended answers 204 and stays ended.',
        operationId: 'adminRevokeSession',
        tags: ['admin'],
        security: bearer,
        params: SessionIdParams,
        response: { 204: done('The session is revoked'), ...adminErrors('SESSION_NOT_FOUND') },
      },
    },
    async (request, reply) => {
      await app.accounts.revokeSession(request.params.sessionId, actor(request), requestContext(request))
      return reply.code(204).send(null)
    },
  )
}
