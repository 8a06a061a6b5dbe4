import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { TokenConfig } from '../config.ts'
import { requestContext } from './context.ts'
import {
  bearer,
  errors,
  LoginBody,
  PasswordChangeBody,
  RefreshBody,
  RegisterBody,
  TokenPair,
} from './schemas.ts'

const limit = (spec: TokenConfig['RATE_LIMIT_LOGIN']) =>
  spec === 'off' ? false : { max: spec.max, timeWindow: spec.windowSeconds * 1000 }

/** Registration, login, refresh, logout and "who am I". Thin: validate, call the domain, shape the reply. */
export const authRoutes: FastifyPluginAsyncTypebox<{ config: TokenConfig }> = async (app, { config }) => {
  app.post(
    '/auth/register',
    {
      config: { rateLimit: limit(config.RATE_LIMIT_REGISTER) },
      schema: {
        summary: 'Create an account',
        body: RegisterBody,
        response: { 201: Type.Object({ userId: Type.String() }), ...errors(400, 409, 413, 429, 503) },
      },
    },
    async (request, reply) => {
      const result = await app.sessions.register(request.body, requestContext(request))
      return reply.code(201).send(result)
    },
  )

  app.post(
    '/auth/login',
    {
      config: { rateLimit: limit(config.RATE_LIMIT_LOGIN) },
      schema: {
        summary: 'Sign in on a device: a new session and its token pair',
        body: LoginBody,
        response: { 200: TokenPair, ...errors(400, 401, 413, 429, 503) },
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
        body: RefreshBody,
        response: { 200: TokenPair, ...errors(400, 401, 413, 429, 503) },
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
        security: bearer,
        response: { 204: Type.Null(), ...errors(401, 503) },
      },
    },
    async (request, reply) => {
      await app.sessions.logout(request.auth!, requestContext(request))
      return reply.code(204).send(null)
    },
  )

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
        security: bearer,
        body: PasswordChangeBody,
        response: { 204: Type.Null(), ...errors(400, 401, 413, 415, 429, 503) },
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
        security: bearer,
        response: {
          200: Type.Object({
            userId: Type.String(),
            sessionId: Type.String(),
            roles: Type.Array(Type.String()),
          }),
          ...errors(401, 503),
        },
      },
    },
    async (request) => {
      const { userId, sessionId, roles } = request.auth!
      return { userId, sessionId, roles }
    },
  )
}
