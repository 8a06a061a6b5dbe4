import { ApiError, described } from '@africhain/http'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { listEvents } from '../domain/analytics.ts'
import { decodeCursor } from '../domain/cursor.ts'
import { parseInstant } from '../domain/time.ts'
import { addressParam, isPrivileged, SUBJECT_ERRORS, subjectOf } from './access.ts'
import { bearer, EventPage, EventsQuery, SessionEventComponent } from './schemas.ts'

function instant(field: string, text: string): Date {
  const ms = parseInstant(text)
  if (Number.isNaN(ms))
    throw new ApiError(
      'VALIDATION_FAILED',
      `querystring/${field} must be an RFC 3339 date-time between 1970 and 9999 (2026-12-01T08:30:00Z, seconds 00-59, Z or ±HH:MM)`,
    )
  return new Date(ms)
}

/**
 * A user's events, or a client's (`ip=`, security only), newest first, filtered by type and time,
 * paginated by an opaque cursor.
 */
export const eventRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.addSchema(SessionEventComponent.schema)
  app.get(
    '/analytics/events',
    {
      onRequest: app.authenticate,
      schema: {
        summary: "The caller's session events, newest first (userId= or ip= for security or admin)",
        description:
          "Pages of at most `limit` events, newest first, optionally of one `type` and within [`from`, `to`). Pass `nextCursor` back as `cursor` for the next page; it is null on the last one. A security or admin caller may ask about any user with `userId` (404 USER_NOT_FOUND when no event names them); anyone else asking about another user gets 403. With `ip` and no `userId` (security or admin only), the events of every user from that client: the IPv4 address, or every address of the IPv6 /64; with both, that user's events from that client.",
        operationId: 'listEvents',
        tags: ['analytics'],
        security: bearer,
        querystring: EventsQuery,
        response: {
          200: described(EventPage, 'One page of events'),
          ...SUBJECT_ERRORS,
        },
      },
    },
    async (request) => {
      const q = request.query
      if (q.ip !== undefined && !isPrivileged(request))
        throw new ApiError('FORBIDDEN', 'only the security team may list events by ip')
      const ip = q.ip === undefined ? undefined : addressParam('querystring/ip', q.ip)
      // ip= alone spans every user; otherwise the events are one user's (the caller's unless userId=).
      const userId =
        ip !== undefined && q.userId === undefined
          ? undefined
          : await subjectOf(request, q.userId, app.analytics.store)
      const cursor = q.cursor === undefined ? undefined : decodeCursor(q.cursor)
      if (cursor === null)
        throw new ApiError('VALIDATION_FAILED', 'querystring/cursor is not a cursor from this API')
      const from = q.from === undefined ? undefined : instant('from', q.from)
      const to = q.to === undefined ? undefined : instant('to', q.to)
      return listEvents(app.analytics, {
        ...(userId !== undefined ? { userId } : {}),
        ...(ip !== undefined ? { ip } : {}),
        limit: q.limit,
        ...(q.type ? { type: q.type } : {}),
        ...(from ? { from } : {}),
        ...(to ? { to } : {}),
        ...(cursor ? { cursor } : {}),
      })
    },
  )
}
