import { described } from '@africhain/http'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { assessUser, flaggedUsers } from '../domain/analytics.ts'
import { PRIVILEGED_ROLES, READ_ERRORS, SUBJECT_ERRORS, subjectOf } from './access.ts'
import { bearer, FlaggedQuery, FlaggedUsers, RiskAssessmentComponent, UserQuery } from './schemas.ts'

/** Risk assessments: one user's now, and every user whose score is suspicious now. */
export const securityRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.addSchema(RiskAssessmentComponent.schema)
  app.get(
    '/analytics/security',
    {
      onRequest: app.authenticate,
      schema: {
        summary:
          "The caller's risk assessment over the last window, with its holderScore (userId= for security or admin)",
        description:
          'The score (0-100, suspicious above 50) of the last 24 hours from the factors MULTIPLE_IPS, RAPID_ACTIVITY, TOKEN_REVOCATIONS, MULTIPLE_DEVICES, TOKEN_REUSE and FAILED_LOGINS, with recommendations.',
        operationId: 'riskAssessment',
        tags: ['security'],
        security: bearer,
        querystring: UserQuery,
        response: {
          200: described(RiskAssessmentComponent.ref, 'The user’s risk assessment'),
          ...SUBJECT_ERRORS,
        },
      },
    },
    async (request) =>
      assessUser(app.analytics, await subjectOf(request, request.query.userId, app.analytics.store)),
  )

  app.get(
    '/analytics/security/flagged',
    {
      onRequest: [app.authenticate, app.requireRole(...PRIVILEGED_ROLES)],
      schema: {
        summary: 'Users whose current score is suspicious, highest first (role security or admin)',
        description: 'At most `limit` users whose score is above 50 now, each with their assessment.',
        operationId: 'flaggedUsers',
        tags: ['security'],
        security: bearer,
        querystring: FlaggedQuery,
        response: {
          200: described(FlaggedUsers, 'The flagged users'),
          ...READ_ERRORS,
        },
      },
    },
    async (request) => ({
      users: await flaggedUsers(app.analytics, request.query.limit),
      generatedAt: app.analytics.now().toISOString(),
    }),
  )
}
