import { described } from '@africhain/http'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { type SessionAnalytics as Overview, systemAnalytics, userAnalytics } from '../domain/analytics.ts'
import { PRIVILEGED_ROLES, READ_ERRORS, SUBJECT_ERRORS, subjectOf } from './access.ts'
import { bearer, NoQuery, SessionAnalytics, UserAnalytics, UserQuery } from './schemas.ts'

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
        description:
          'Active sessions and users now, devices, session durations and security events over the last 24 hours, across every user. Computed at most once a second.',
        operationId: 'systemAnalytics',
        tags: ['analytics'],
        security: bearer,
        querystring: NoQuery,
        response: {
          200: described(SessionAnalytics, 'System-wide analytics'),
          ...READ_ERRORS,
        },
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
        description:
          'One user’s active sessions, devices, durations, security events and current risk score.',
        operationId: 'userAnalytics',
        tags: ['analytics'],
        security: bearer,
        querystring: UserQuery,
        response: {
          200: described(UserAnalytics, 'The user’s analytics'),
          ...SUBJECT_ERRORS,
        },
      },
    },
    async (request) =>
      userAnalytics(app.analytics, await subjectOf(request, request.query.userId, app.analytics.store)),
  )
}
