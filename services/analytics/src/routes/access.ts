import { ApiError } from '@africhain/http'
import type { FastifyRequest } from 'fastify'

/** Roles that may read system-wide analytics and any user's data. */
export const PRIVILEGED_ROLES = ['security', 'admin'] as const

/**
 * Whose data a request is about: the caller's own, or `userId` when the caller holds a privileged role.
 * Anyone else asking about another user gets 403 FORBIDDEN (their own id is always fine).
 */
export function subjectOf(request: FastifyRequest, requested: string | undefined): string {
  const auth = request.auth
  if (!auth) throw new ApiError('TOKEN_MISSING')
  if (requested === undefined || requested === auth.userId) return auth.userId
  if (!auth.roles.some((r) => (PRIVILEGED_ROLES as readonly string[]).includes(r)))
    throw new ApiError('FORBIDDEN', 'only the security team may ask about another user')
  return requested
}
