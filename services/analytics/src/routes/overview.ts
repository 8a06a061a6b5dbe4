import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { type SessionAnalytics as Overview, systemAnalytics, userAnalytics } from '../domain/analytics.ts'
import { PRIVILEGED_ROLES, subjectOf } from './access.ts'
import { bearer, errors, NoQuery, SessionAnalytics, UserAnalytics, UserQuery } from './schemas.ts'

/** The system-wide figures scan every recent session: computed at most once a second, shared by all callers. */
const OVERVIEW_TTL_MS = 1000

/** System-wide session analytics (security team) and one user's. */
export const overviewRoutes: FastifyPluginAsyncTypebox = async (app) => {
  let cached: { at: number; value: Promise<Overview> } | undefined
  const overview = (): Promise<Overview> => {
    const now = Date.now()
    if (!cached || now - cached.at > OVERVIEW_TTL_MS) {
      const value = systemAnalytics(app.analytics)
      cached = { at: now, value }
      value.catch(() => {
        if (cached?.value === value) cached = undefined // never keep a failure
      })
    }
    return cached.value
  }

  app.get(
    '/analytics',
    {
      onRequest: [app.authenticate, app.requireRole(...PRIVILEGED_ROLES)],
      schema: {
        summary: 'System-wide session analytics (role security or admin)',
        security: bearer,
        querystring: NoQuery,
        response: { 200: SessionAnalytics, ...errors(400, 401, 403, 503) },
      },
    },
    async () => overview(),
  )

  app.get(
    '/analytics/user',
    {
      onRequest: app.authenticate,
      schema: {
        summary: "The caller's session analytics (userId= for security or admin)",
        security: bearer,
        querystring: UserQuery,
        response: { 200: UserAnalytics, ...errors(400, 401, 403, 503) },
      },
    },
    async (request) => userAnalytics(app.analytics, subjectOf(request, request.query.userId)),
  )
}
