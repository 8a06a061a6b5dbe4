import { ApiError } from '@africhain/http'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { userEvents } from '../domain/analytics.ts'
import { decodeCursor } from '../domain/cursor.ts'
import { subjectOf } from './access.ts'
import { bearer, EventPage, EventsQuery, errors } from './schemas.ts'

/** A user's events, newest first, filtered by type and time, paginated by an opaque cursor. */
export const eventRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/analytics/events',
    {
      preHandler: app.authenticate,
      schema: {
        summary: "The caller's session events, newest first (userId= for security or admin)",
        security: bearer,
        querystring: EventsQuery,
        response: { 200: EventPage, ...errors(400, 401, 403, 503) },
      },
    },
    async (request) => {
      const q = request.query
      const userId = subjectOf(request, q.userId)
      const cursor = q.cursor === undefined ? undefined : decodeCursor(q.cursor)
      if (cursor === null)
        throw new ApiError('VALIDATION_FAILED', 'querystring/cursor is not a cursor from this API')
      return userEvents(app.analytics, {
        userId,
        limit: q.limit,
        ...(q.type ? { type: q.type } : {}),
        ...(q.from ? { from: new Date(q.from) } : {}),
        ...(q.to ? { to: new Date(q.to) } : {}),
        ...(cursor ? { cursor } : {}),
      })
    },
  )
}
