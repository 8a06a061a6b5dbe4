import { randomBytes } from 'node:crypto'
import { connect } from 'node:net'
import { decodeEvent } from '@africhain/events'
import { afterAll, describe, expect, it } from 'vitest'
import { cleanup, rawRedis, testConfig } from './helpers/app.ts'
import { freePort, ServiceProcess } from './helpers/process.ts'

const config = testConfig('shutdown')
afterAll(() => cleanup(config))

/** A token service as its own process, `n` slow registrations in flight (each logged as received). */
async function serviceWithRequestsInFlight(n: number) {
  const port = await freePort()
  const service = new ServiceProcess('services/token/src/server.ts', {
    DATABASE_URL: config.DATABASE_URL,
    REDIS_URL: config.REDIS_URL,
    REDIS_KEY_PREFIX: config.REDIS_KEY_PREFIX!,
    TOKEN_PORT: String(port),
    PASSWORD_HASH_COST: '13', // slow enough that requests are still in flight when the signal lands
    LOG_LEVEL: 'debug', // the `request received` line marks each request in flight
    RATE_LIMIT_REGISTER: 'off',
  })
  const base = `http://127.0.0.1:${port}`
  await service.waitForHttp(`${base}/health/ready`).catch((err) => {
    throw new Error(`${err.message}\n${service.lines.join('\n')}`)
  })
  const identifiers = Array.from({ length: n }, () => `drain.${randomBytes(5).toString('hex')}@example.com`)
  const inFlight = identifiers.map((identifier) =>
    fetch(`${base}/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ identifier, password: 'long enough password' }),
    }).then(
      (r) => r.status,
      (err: Error) => `network error: ${err.message}`,
    ),
  )
  // Latch: every request has reached the server before the signal is sent.
  await service.log.seen(
    (l) => /"url":"\/auth\/register".*"msg":"request received"/.test(l),
    'requests in flight',
    { n },
  )
  return { service, base, inFlight }
}

describe('graceful shutdown (SIGTERM)', () => {
  it('finishes every in-flight request and loses no event', async () => {
    const n = 16
    const { service, inFlight } = await serviceWithRequestsInFlight(n)
    service.kill('SIGTERM')
    const statuses = await Promise.all(inFlight)
    expect(statuses).toEqual(Array.from({ length: n }, () => 201))
    const code = await service.exited
    expect(code, service.lines.filter((l) => !l.includes('"level":30')).join('\n')).toBe(0)

    // Every committed registration's event is on the stream or still in the outbox (for the next instance).
    const redis = rawRedis(config)
    try {
      const entries = await redis.xrange(config.EVENTS_STREAM, '-', '+')
      const published = entries
        .map(([, f]) => decodeEvent(f))
        .filter((d) => d.ok && d.event.type === 'user.registered')
      const { createDb } = await import('@africhain/db')
      const db = createDb<{ outbox: { payload: string; stream_key: string | null } }>({
        url: config.DATABASE_URL,
      })
      const waiting = await db
        .selectFrom('outbox')
        .select('payload')
        .where('stream_key', 'is', null)
        .execute()
      await db.destroy()
      const ids = [
        ...published.map((d) => (d.ok ? d.event.id : '')),
        ...waiting.map((w) => JSON.parse(w.payload).id),
      ]
      expect(new Set(ids).size).toBe(ids.length)
      expect(ids).toHaveLength(n)
    } finally {
      redis.disconnect()
    }
  })

  it('a second SIGTERM during the shutdown exits 1 at once, its lines written', async () => {
    const { service, base } = await serviceWithRequestsInFlight(1)
    // A request whose body never completes keeps the close waiting (up to its 15 s deadline) however fast
    // the registrations are: the second signal surely lands during the shutdown.
    const stuck = connect(Number(new URL(base).port), '127.0.0.1')
    stuck.on('error', () => {})
    stuck.write(
      'POST /auth/register HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 200\r\n\r\n{"ide',
    )
    await service.log.seen(
      (l) => /"url":"\/auth\/register".*"msg":"request received"/.test(l),
      'the stuck request',
      { n: 2 },
    )
    service.kill('SIGTERM')
    await service.log.seen((l) => l.includes('"msg":"shutting down"'), 'the shutdown to begin')
    service.kill('SIGTERM')
    const code = await service.exited
    stuck.destroy()
    const msgs = service.lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg: string })
    expect(code, service.lines.join('\n')).toBe(1)
    expect(msgs.map((l) => l.msg)).toEqual(
      expect.arrayContaining(['shutting down', 'signal during shutdown: exiting now']),
    )
  })
})
