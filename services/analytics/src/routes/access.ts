import { isIP } from 'node:net'
import { ApiError, BEARER_ERRORS, errorResponses } from '@africhain/http'
import type { FastifyRequest } from 'fastify'
import type { AnalyticsStore } from '../domain/ports.ts'

/** The error replies of every authenticated analytics route. */
export const READ_ERRORS = errorResponses({
  400: ['VALIDATION_FAILED'],
  401: BEARER_ERRORS,
  403: ['FORBIDDEN'],
  503: ['DEPENDENCY_UNAVAILABLE'],
})

/** The same for a route about one user (`subjectOf`): a privileged caller's unknown user is 404. */
export const SUBJECT_ERRORS = errorResponses({
  400: ['VALIDATION_FAILED'],
  401: BEARER_ERRORS,
  403: ['FORBIDDEN'],
  404: ['USER_NOT_FOUND'],
  503: ['DEPENDENCY_UNAVAILABLE'],
})

/** Roles that may read system-wide analytics and any user's data. */
export const PRIVILEGED_ROLES = ['security', 'admin'] as const

export function isPrivileged(request: FastifyRequest): boolean {
  return request.auth?.roles.some((r) => (PRIVILEGED_ROLES as readonly string[]).includes(r)) ?? false
}

/**
 * Whose data a request is about: the caller's own, or `userId` when the caller holds a privileged role.
 * Anyone else asking about another user gets 403 FORBIDDEN whether or not that user exists (their own id is
 * always fine); a privileged caller asking about a user no event names gets 404 USER_NOT_FOUND.
 */
export async function subjectOf(
  request: FastifyRequest,
  requested: string | undefined,
  store: AnalyticsStore,
): Promise<string> {
  const auth = request.auth
  if (!auth) throw new ApiError('TOKEN_MISSING')
  if (requested === undefined || requested === auth.userId) return auth.userId
  if (!isPrivileged(request))
    throw new ApiError('FORBIDDEN', 'only the security team may ask about another user')
  if (!(await store.userSeen(requested)))
    throw new ApiError(
      'USER_NOT_FOUND',
      'no event names this userId: check the id (a user registered in the last seconds may not be here yet)',
    )
  return requested
}

/** A client address from the request (`field` names it in the message), its zone id dropped. */
export function addressParam(field: string, text: string): string {
  const address = text.replace(/%.*$/, '')
  if (isIP(address) === 0)
    throw new ApiError(
      'VALIDATION_FAILED',
      `${field} must be an IPv4 or IPv6 address (196.201.214.10, 2001:db8:1:2::7); an IPv6 address stands for its /64`,
    )
  return address
}
