import { ApiError } from '@africhain/http'
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import fp from 'fastify-plugin'
import type { AuthContext } from './verifier.ts'

declare module 'fastify' {
  interface FastifyRequest {
    auth: AuthContext | null
  }
  interface FastifyInstance {
    /** onRequest hook for bearer-protected routes (before body parsing and validation): sets `request.auth` or answers 401/503. */
    authenticate: (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => void
    /** onRequest hook factory: the caller must hold one of these roles (after `authenticate`). */
    requireRole: (...roles: string[]) => (request: FastifyRequest, reply: FastifyReply) => Promise<void>
  }
}

const BEARER = /^Bearer ([^\s]+)$/i

/** Pulls the bearer token out of the Authorization header; anything else on that header is TOKEN_INVALID. */
export function bearerToken(request: FastifyRequest): string {
  const header = request.headers.authorization
  if (header === undefined || header === '') throw new ApiError('TOKEN_MISSING')
  const match = BEARER.exec(header)
  if (!match) throw new ApiError('TOKEN_INVALID')
  return match[1]!
}

/**
 * A rejection that is not an Error, or an empty answer, says nothing about the token (and a falsy one passed
 * to `done` would let the request through): it is answered as a check that could not be made, so the route
 * never runs.
 */
function couldNotCheck(err: unknown): Error {
  return err instanceof Error ? err : new ApiError('DEPENDENCY_UNAVAILABLE')
}

export type VerifierPluginOptions = { verify: (token: string) => Promise<AuthContext> }

/** What any resource server registers to accept AfriChain access tokens. */
export const verifierPlugin = fp(
  async (app: FastifyInstance, opts: VerifierPluginOptions) => {
    app.decorateRequest('auth', null)
    // A callback hook: as an async one it cost a promise of its own and Fastify's `then` on it, per request.
    app.decorate(
      'authenticate',
      (request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction) => {
        let token: string
        try {
          token = bearerToken(request)
        } catch (err) {
          return done(err as Error)
        }
        opts.verify(token).then(
          (auth) => {
            // A verify answering nothing has checked nothing: the same as one that could not check.
            if (!auth) return done(couldNotCheck(auth))
            request.auth = auth
            done()
          },
          (err: unknown) => done(couldNotCheck(err)),
        )
      },
    )
    app.decorate('requireRole', (...roles: string[]) => async (request: FastifyRequest) => {
      if (!request.auth) throw new ApiError('TOKEN_MISSING')
      if (!request.auth.roles.some((r) => roles.includes(r))) throw new ApiError('FORBIDDEN')
    })
  },
  { name: 'africhain-verifier', fastify: '5.x' },
)
