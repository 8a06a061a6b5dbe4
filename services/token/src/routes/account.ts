import { annotate, BEARER_ERRORS, described, errorResponses } from '@africhain/http'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { requestContext } from './context.ts'
import { bearer, PasswordChangeBody } from './schemas.ts'

/** The caller's own account: "who am I" and changing the password. */
export const accountRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/auth/password',
    {
      onRequest: app.authenticate,
      schema: {
        summary: 'Change the caller’s password',
        description:
          'The current password counts against the account’s login lock like a login (401 ' +
          'INVALID_CREDENTIALS when wrong, 429 LOGIN_LOCKED once locked). The new password is stored, every ' +
          'other session of the user is revoked (reason `password_changed`) and `user.password_changed` is ' +
          'emitted; the calling session stays.',
        operationId: 'changePassword',
        tags: ['auth'],
        security: bearer,
        body: annotate(PasswordChangeBody, {
          fields: {
            currentPassword: 'the password the account has now',
            newPassword: '8 to 128 characters; stored only as a slow salted hash',
          },
          examples: [{ currentPassword: 'correct horse battery', newPassword: 'staple battery horse' }],
        }),
        response: {
          204: described(Type.Null(), 'Changed: every other session of the user is revoked'),
          ...errorResponses({
            400: ['VALIDATION_FAILED'],
            401: ['INVALID_CREDENTIALS', ...BEARER_ERRORS],
            413: ['PAYLOAD_TOO_LARGE'],
            415: ['UNSUPPORTED_MEDIA_TYPE'],
            429: ['LOGIN_LOCKED'],
            503: ['DEPENDENCY_UNAVAILABLE'],
          }),
        },
      },
    },
    async (request, reply) => {
      await app.passwords.change(request.auth!, request.body, requestContext(request))
      return reply.code(204).send(null)
    },
  )

  app.get(
    '/auth/me',
    {
      onRequest: app.authenticate,
      schema: {
        summary: 'The caller',
        description: 'Who the bearer token speaks for: the user, the session and the roles in the token.',
        operationId: 'me',
        tags: ['auth'],
        security: bearer,
        response: {
          200: described(
            Type.Object({
              userId: Type.String(),
              sessionId: Type.String(),
              roles: Type.Array(Type.String(), {
                description: '`user`, `security`, `admin`',
                examples: [['user']],
              }),
            }),
            'The caller',
          ),
          ...errorResponses({ 401: BEARER_ERRORS, 503: ['DEPENDENCY_UNAVAILABLE'] }),
        },
      },
    },
    async (request) => {
      const { userId, sessionId, roles } = request.auth!
      return { userId, sessionId, roles }
    },
  )
}
