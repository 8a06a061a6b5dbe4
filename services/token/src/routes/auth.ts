import { annotate, BEARER_ERRORS, described, errorResponses } from '@africhain/http'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { TokenConfig } from '../config.ts'
import { TokenPairComponent } from './components.ts'
import { requestContext } from './context.ts'
import { bearer, LoginBody, RefreshBody, RegisterBody } from './schemas.ts'

const limit = (spec: TokenConfig['RATE_LIMIT_LOGIN']) =>
  spec === 'off' ? false : { max: spec.max, timeWindow: spec.windowSeconds * 1000 }

/** Registration, login, refresh and logout. Thin: validate, call the domain, shape the reply. */
export const authRoutes: FastifyPluginAsyncTypebox<{ config: TokenConfig }> = async (app, { config }) => {
  app.addSchema(TokenPairComponent.schema)
  const TokenPair = TokenPairComponent.ref

  app.post(
    '/auth/register',
    {
      config: { rateLimit: limit(config.RATE_LIMIT_REGISTER) },
      schema: {
        summary: 'Create an account',
        description:
          'Registers an identifier (an E.164 phone number or an email address, normalised: NFKC, emails case-folded, phone numbers without punctuation) with a password. Does not sign in: call POST /auth/login next.',
        operationId: 'register',
        tags: ['auth'],
        body: annotate(RegisterBody, {
          fields: {
            identifier: 'an E.164 phone number (`+254712345678`) or an email address',
            password: '8 to 128 characters; stored only as a slow salted hash',
            displayName: 'shown to the user; optional',
          },
          examples: [
            { identifier: '+254712345678', password: 'correct horse battery', displayName: 'Amina' },
          ],
        }),
        response: {
          201: described(
            Type.Object({ userId: Type.String({ description: 'the new user’s id' }) }),
            'The account was created',
          ),
          ...errorResponses({
            400: ['VALIDATION_FAILED'],
            409: ['IDENTIFIER_TAKEN'],
            413: ['PAYLOAD_TOO_LARGE'],
            415: ['UNSUPPORTED_MEDIA_TYPE'],
            429: ['RATE_LIMITED'],
            503: ['DEPENDENCY_UNAVAILABLE'],
          }),
        },
      },
    },
    async (request, reply) => {
      const { userId } = await app.sessions.register(request.body, requestContext(request))
      return reply.code(201).send({ userId })
    },
  )

  app.post(
    '/auth/login',
    {
      config: { rateLimit: limit(config.RATE_LIMIT_LOGIN) },
      schema: {
        summary: 'Sign in on a device: a new session and its token pair',
        description:
          'Checks the password and opens a session bound to `device` (a session bound to a `device.id` refuses refreshes from any other). Five failed logins for one account within 15 minutes lock it for 15 minutes (429 LOGIN_LOCKED).',
        operationId: 'login',
        tags: ['auth'],
        body: annotate(LoginBody, {
          fields: {
            identifier: 'the phone number or email address registered',
            password: 'the account’s password',
            device: 'the device signing in; with an `id`, the session is bound to it',
            rememberMe:
              'true: the session lasts REFRESH_TOKEN_LONG_TTL (30 days) instead of REFRESH_TOKEN_TTL (7 days)',
          },
          examples: [
            {
              identifier: '+254712345678',
              password: 'correct horse battery',
              device: { id: 'device-1', platform: 'android', name: "Amina's phone" },
              rememberMe: false,
            },
          ],
        }),
        response: {
          200: described(TokenPair, 'Signed in: the new session’s token pair'),
          ...errorResponses({
            400: ['VALIDATION_FAILED'],
            401: ['INVALID_CREDENTIALS'],
            403: ['USER_DISABLED'],
            413: ['PAYLOAD_TOO_LARGE'],
            415: ['UNSUPPORTED_MEDIA_TYPE'],
            429: ['RATE_LIMITED', 'LOGIN_LOCKED'],
            503: ['DEPENDENCY_UNAVAILABLE'],
          }),
        },
      },
    },
    async (request) => app.sessions.login(request.body, requestContext(request)),
  )

  app.post(
    '/auth/refresh-token',
    {
      config: { rateLimit: limit(config.RATE_LIMIT_REFRESH) },
      schema: {
        summary: 'Rotate a refresh token: a new pair for the same session',
        description:
          'Every refresh returns a new refresh token; the one presented stops working. Presenting the immediately previous one again within REFRESH_REUSE_GRACE (10 s) returns the same successor; any older one answers 401 TOKEN_REUSED and revokes the session.',
        operationId: 'refreshToken',
        tags: ['auth'],
        body: annotate(RefreshBody, {
          fields: {
            refreshToken: 'the latest refresh token of the session',
            device: 'the device of the login; required in effect when the login named a `device.id`',
          },
          examples: [
            {
              refreshToken: 'rt_3yJ8pXkV0qL2mN5bR7tW9zA1cE4gH6jK8oQ0sU2wY4',
              device: { id: 'device-1', platform: 'android' },
            },
          ],
        }),
        response: {
          200: described(TokenPair, 'Rotated: a new token pair for the same session'),
          ...errorResponses({
            400: ['VALIDATION_FAILED'],
            401: ['TOKEN_INVALID', 'TOKEN_EXPIRED', 'TOKEN_REVOKED', 'TOKEN_REUSED', 'DEVICE_MISMATCH'],
            403: ['USER_DISABLED'],
            413: ['PAYLOAD_TOO_LARGE'],
            415: ['UNSUPPORTED_MEDIA_TYPE'],
            429: ['RATE_LIMITED'],
            503: ['DEPENDENCY_UNAVAILABLE'],
          }),
        },
      },
    },
    async (request) =>
      app.sessions.refresh(request.body.refreshToken, request.body.device, requestContext(request)),
  )

  app.post(
    '/auth/logout',
    {
      onRequest: app.authenticate,
      schema: {
        summary: 'End the current session',
        description:
          'Revokes the session of the bearer token: its refresh token and all its access tokens stop working at once.',
        operationId: 'logout',
        tags: ['auth'],
        security: bearer,
        response: {
          204: described(Type.Null(), 'Logged out: the session is revoked'),
          ...errorResponses({ 401: BEARER_ERRORS, 503: ['DEPENDENCY_UNAVAILABLE'] }),
        },
      },
    },
    async (request, reply) => {
      await app.sessions.logout(request.auth!, requestContext(request))
      return reply.code(204).send(null)
    },
  )
}
