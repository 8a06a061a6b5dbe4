import { ApiError } from '@africhain/http'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { dailyReport } from '../domain/analytics.ts'
import { isCalendarDay } from '../domain/time.ts'
import { PRIVILEGED_ROLES } from './access.ts'
import { bearer, DailyReport, errors, ReportQuery } from './schemas.ts'

/** The daily report, built from the worker's per-day counters. */
export const reportRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/analytics/report',
    {
      onRequest: [app.authenticate, app.requireRole(...PRIVILEGED_ROLES)],
      schema: {
        summary: 'Daily report for a UTC day (role security or admin)',
        security: bearer,
        querystring: ReportQuery,
        response: { 200: DailyReport, ...errors(400, 401, 403, 503) },
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
