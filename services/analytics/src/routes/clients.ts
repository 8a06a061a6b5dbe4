import { described } from '@africhain/http'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { clientSummary } from '../domain/client-activity.ts'
import { addressParam, PRIVILEGED_ROLES, READ_ERRORS } from './access.ts'
import { bearer } from './schemas.ts'

const IpParams = Type.Object(
  { ip: Type.String({ minLength: 2, maxLength: 64, description: 'an IPv4 or IPv6 address' }) },
  { additionalProperties: false },
)
const IpQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100, description: 'accounts listed at most' }),
  },
  { additionalProperties: false },
)
const Instant = Type.Union([Type.String({ format: 'date-time' }), Type.Null()], {
  description: 'null when nothing came from this client',
})
const IpSummary = Type.Object({
  ip: Type.String({
    description: 'the client: the IPv4 address, or the IPv6 /64 network (2001:db8:1:2::/64)',
  }),
  label: Type.Optional(
    Type.String({ description: 'the special-use range it is in: private, loopback, link-local, …' }),
  ),
  accounts: Type.Integer({ description: 'distinct users named by its events' }),
  logins: Type.Integer({ description: 'sessions created (successful logins)' }),
  failedLogins: Type.Integer({ description: 'failed logins, unknown identifiers included' }),
  firstSeen: Instant,
  lastSeen: Instant,
  users: Type.Array(
    Type.Object({ userId: Type.String(), failed: Type.Integer(), succeeded: Type.Integer() }),
    { description: 'most failed logins first, then most successes; at most `limit`' },
  ),
})

/** What one client did across every account: where a credential-stuffing run shows. */
export const clientRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/analytics/ips/:ip',
    {
      onRequest: [app.authenticate, app.requireRole(...PRIVILEGED_ROLES)],
      schema: {
        summary:
          'Every account one client touched, with failed and successful logins (role security or admin)',
        description:
          'Over every stored event from the client (an IPv4 address, or any address of an IPv6 /64): the accounts its events name, its successful and failed logins, when it was first and last seen. Many accounts with many failures and few successes is a credential-stuffing run. An address that is not one answers 400 VALIDATION_FAILED.',
        operationId: 'ipSummary',
        tags: ['security'],
        security: bearer,
        params: IpParams,
        querystring: IpQuery,
        response: {
          200: described(IpSummary, 'The client’s activity'),
          ...READ_ERRORS,
        },
      },
    },
    async (request) =>
      clientSummary(app.analytics, addressParam('params/ip', request.params.ip), request.query.limit),
  )
}
