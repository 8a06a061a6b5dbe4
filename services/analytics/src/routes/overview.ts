import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { systemAnalytics, userAnalytics } from '../domain/analytics.ts'
import { PRIVILEGED_ROLES, subjectOf } from './access.ts'
import { bearer, errors, NoQuery, SessionAnalytics, UserAnalytics, UserQuery } from './schemas.ts'

/** System-wide session analytics (security team) and one user's. */
export const overviewRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/analytics',
    {
      preHandler: [app.authenticate, app.requireRole(...PRIVILEGED_ROLES)],
      schema: {
        summary: 'System-wide session analytics (role security or admin)',
        security: bearer,
        querystring: NoQuery,
        response: { 200: SessionAnalytics, ...errors(400, 401, 403, 503) },
      },
    },
    async () => systemAnalytics(app.analytics),
  )

  app.get(
    '/analytics/user',
    {
      preHandler: app.authenticate,
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
