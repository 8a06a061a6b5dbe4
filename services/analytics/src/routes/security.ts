import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { assessUser, flaggedUsers } from '../domain/analytics.ts'
import { PRIVILEGED_ROLES, subjectOf } from './access.ts'
import { bearer, errors, FlaggedQuery, FlaggedUsers, RiskAssessment, UserQuery } from './schemas.ts'

/** Risk assessments: one user's now, and every user whose score is suspicious now. */
export const securityRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/analytics/security',
    {
      onRequest: app.authenticate,
      schema: {
        summary:
          "The caller's risk assessment over the last window, with its holderScore (userId= for security or admin)",
        security: bearer,
        querystring: UserQuery,
        response: { 200: RiskAssessment, ...errors(400, 401, 403, 503) },
      },
    },
    async (request) => assessUser(app.analytics, subjectOf(request, request.query.userId)),
  )

  app.get(
    '/analytics/security/flagged',
    {
      onRequest: [app.authenticate, app.requireRole(...PRIVILEGED_ROLES)],
      schema: {
        summary: 'Users whose current score is suspicious, highest first (role security or admin)',
        security: bearer,
        querystring: FlaggedQuery,
        response: { 200: FlaggedUsers, ...errors(400, 401, 403, 503) },
      },
    },
    async (request) => ({
      users: await flaggedUsers(app.analytics, request.query.limit),
      generatedAt: app.analytics.now().toISOString(),
    }),
  )
}
