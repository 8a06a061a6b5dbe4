import { sessionKey } from '@africhain/verifier'
import { beforeAll, describe, expect, it } from 'vitest'
import { useTestApp } from './helpers/app.ts'
import { SseClient } from './helpers/sse.ts'

// An open live stream outlives the request that checked its token: it must end as soon as that token would
// be refused, also when no event says so (a revocation whose event is late or lost, an expiry, Redis
// losing the session's state). The stream is re-checked every LIVE_RECHECK (5 s by default).
const { app, issuer, redis } = useTestApp('live_recheck')
let base = ''

beforeAll(async () => {
  base = await app.listen({ host: '127.0.0.1', port: 0 })
})

const sidOf = (token: string) =>
  (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { sid: string }).sid

describe('a live stream ends when its token stops verifying, without any event saying so', () => {
  // [what happens while the stream is open, the reason its `end` event names, how, the analyst's token]
  const cases: [string, string, (token: string) => Promise<void>, () => Promise<string>][] = [
    [
      'the token expires (past exp and the 30 s leeway)',
      'TOKEN_EXPIRED',
      async () => {},
      // Issued 900 s ago for 873 s: past exp by 27 s, inside the leeway for 3 s more.
      () => issuer.mint('analyst-expiring', ['security'], { issuedSecondsAgo: 900, expiresIn: 873 }),
    ],
    [
      'the session is revoked in the hot state, its event never published',
      'TOKEN_REVOKED',
      async (token) => {
        await redis.set(sessionKey(sidOf(token)), 'r', 'EX', 3600)
      },
      () => issuer.mint('analyst-revoked', ['security']),
    ],
    [
      'Redis loses the session state (fail closed)',
      'DEPENDENCY_UNAVAILABLE',
      async (token) => {
        await redis.del(sessionKey(sidOf(token)))
      },
      () => issuer.mint('analyst-lost', ['security']),
    ],
  ]
  it.each(cases)(
    '%s → end %s',
    async (_, reason, meanwhile, mint) => {
      const token = await mint()
      const stream = await SseClient.open(`${base}/analytics/live`, token)
      try {
        expect(stream.status).toBe(200)
        await meanwhile(token)
        await stream.until((c) => c.of('end').length > 0, 12_000, 'the end event')
        expect(JSON.parse(stream.of('end')[0]!.data)).toEqual({ reason })
        await stream.until((c) => c.ended, 2_000, 'the stream to close')
      } finally {
        stream.close()
      }
    },
    20_000,
  )
})
