import { clientAddress } from '@africhain/http'
import type { FastifyRequest } from 'fastify'
import type { RequestContext } from '../domain/context.ts'
import type { Actor } from '../domain/use-cases/account-admin.ts'

/** Client IP (Fastify honours TRUST_PROXY) and user agent of a request, as the domain records them. */
export function requestContext(request: FastifyRequest): RequestContext {
  const ua = request.headers['user-agent']
  return {
    ip: clientAddress(request),
    userAgent: typeof ua === 'string' && ua.length > 0 ? ua.slice(0, 512) : null,
  }
}

/** The authenticated caller as the actor of an administrative action (its events carry `actorId`). */
export function actor(request: FastifyRequest): Actor {
  return { actorId: request.auth!.userId, sessionId: request.auth!.sessionId }
}
