import { ApiError, described } from '@africhain/http'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { dailyReport } from '../domain/analytics.ts'
import { isCalendarDay } from '../domain/time.ts'
import { PRIVILEGED_ROLES, READ_ERRORS } from './access.ts'
import { bearer, DailyReport, ReportQuery } from './schemas.ts'

/** The daily report, built from the worker's per-day counters. */
export const reportRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/analytics/report',
    {
      onRequest: [app.authenticate, app.requireRole(...PRIVILEGED_ROLES)],
      schema: {
        summary: 'Daily report for a UTC day (role security or admin)',
        description:
          'Logins, failures, refreshes, revocations by reason, reuse detections, devices, events per hour (all, and by type in `hourlyByType`, an addition beyond the v2 contract) for one UTC day (`date`, default today), compared with the day before.',
        operationId: 'dailyReport',
        tags: ['reports'],
        security: bearer,
        querystring: ReportQuery,
        response: {
          200: described(DailyReport, 'The day’s report'),
          ...READ_ERRORS,
        },
      },
    },
    async (request) => {
      const date = request.query.date
      if (date !== undefined && !isCalendarDay(date))
        throw new ApiError('VALIDATION_FAILED', 'querystring/date is not a calendar day (YYYY-MM-DD)')
      return dailyReport(app.analytics, date)
    },
  )
}
