import { createHmac, timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { backoffDelay } from '@africhain/bus'
import { createDb } from '@africhain/db'
import { encodeEvent, newRiskAlert, type RiskAlert } from '@africhain/events'
import type { Redis } from 'ioredis'
import { pino } from 'pino'
import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadAnalyticsConfig } from '../src/config.ts'
import { retryBackoff } from '../src/notifier/deliver.ts'
import {
  createNotifier,
  type Notifier,
  notifierDeadLetterStream,
  notifierProblem,
} from '../src/notifier/notifier.ts'
import { parseWebhooks } from '../src/notifier/webhooks.ts'
import type { Database } from '../src/storage/tables.ts'
import { testEnv } from './helpers/config.ts'
import { type TestDb, testDatabase } from './helpers/db.ts'
import { dropRedis, eventually, redisFor } from './helpers/redis.ts'

// The notifier against real HTTP receivers on loopback: one that fails its first deliveries, a Slack-style
// one, one that always fails and one that refuses for good. Every alert reaches each live hook exactly once,
// signed; the others end in the dead-letter stream.
const SECRET = 'whsec-test-0123456789abcdef0123456789'
let receiver: Server
let redis: Redis
let notifier: Notifier
const registry = new Registry()
const logs: string[] = []
const accepted: Record<string, string[]> = { json: [], slack: [] }
const received: Record<string, number> = { json: 0, slack: 0, dead: 0, gone: 0 }
let badSignatures = 0
let config: ReturnType<typeof loadAnalyticsConfig>
let t: TestDb
/** The receiver's address. */
let hookBase: string

function verified(req: IncomingMessage, body: string): boolean {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(req.headers['x-africhain-signature']))
  if (!m) return false
  if (Math.abs(Date.now() / 1000 - Number(m[1])) > 300) return false
  const expected = createHmac('sha256', SECRET).update(`${m[1]}.${body}`).digest()
  return timingSafeEqual(expected, Buffer.from(m[2]!, 'hex'))
}

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let body = ''
    req.on('data', (d) => {
      body += d
    })
    req.on('end', () => {
      const hook = req.url!.slice(1)
      const n = ++received[hook]!
      if (hook === 'dead') return void res.writeHead(500).end()
      if (hook === 'gone') return void res.writeHead(410).end()
      // The first three json deliveries and the first slack one fail, as a receiver being deployed would.
      if ((hook === 'json' && n <= 3) || (hook === 'slack' && n === 1)) return void res.writeHead(503).end()
      if (hook === 'json') {
        if (!verified(req, body)) {
          badSignatures++
          return void res.writeHead(401).end()
        }
        accepted.json!.push((JSON.parse(body) as RiskAlert).id)
      } else {
        const text = (JSON.parse(body) as { text: string }).text
        accepted.slack!.push(/Alert (\S+) at/.exec(text)![1]!)
      }
      res.writeHead(204).end()
    })
  })
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r))
  const base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`
  hookBase = base
  config = loadAnalyticsConfig(
    testEnv({
      ANALYTICS_ROLE: 'notifier',
      ALERT_WEBHOOKS: `ops=json:${base}/json,chat=slack:${base}/slack,broken=json:${base}/dead,gone=json:${base}/gone`,
      ALERT_WEBHOOK_SECRET: SECRET,
      NOTIFIER_MAX_ATTEMPTS: '4',
      NOTIFIER_RETRY_BASE_MS: '20',
      NOTIFIER_RETRY_MAX_MS: '200',
      NOTIFIER_TIMEOUT_MS: '2000',
    }),
  )
  redis = redisFor(config)
  t = await testDatabase('notifier')
  const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(line) })
  notifier = createNotifier({ config, redis, db: t.db, logger, registry, blockMs: 200 })
  await notifier.start()
})

afterAll(async () => {
  await notifier?.stop()
  await new Promise((r) => receiver?.close(r))
  await dropRedis(redis)
  await t?.drop()
})

const count = async (hook: string, outcome: string) =>
  (await registry.getSingleMetric('analytics_notifier_deliveries_total')!.get()).values.find(
    (v) => v.labels.hook === hook && v.labels.outcome === outcome,
  )?.value ?? 0

describe('the notifier', () => {
  const alerts = Array.from({ length: 6 }, (_, i) =>
    newRiskAlert(`user-${i}`, {
      score: 60 + i,
      holderScore: 40,
      factors: [{ code: 'TOKEN_REUSE', points: 40, detail: {} }],
    }),
  )
  const ids = alerts.map((a) => a.id).sort()

  it('delivers every alert exactly once to each hook, through failures, signed', async () => {
    for (const alert of alerts) await redis.xadd(config.ALERTS_STREAM, '*', ...encodeEvent(alert))
    await eventually(async () => accepted.json!.length >= 6 && accepted.slack!.length >= 6, 15_000)
    // Give a duplicate the time to show: every other delivery settled (dead-lettered) first.
    await eventually(async () => (await count('broken', 'dead_lettered')) === 6, 15_000)
    expect([...accepted.json!].sort()).toEqual(ids)
    expect([...accepted.slack!].sort()).toEqual(ids)
    expect(badSignatures).toBe(0)
    expect(await count('ops', 'delivered')).toBe(6)
    expect(await count('ops', 'failed')).toBe(3)
    expect(await count('chat', 'delivered')).toBe(6)
  })

  it('dead-letters an alert after NOTIFIER_MAX_ATTEMPTS failures, and at once when the hook refuses for good', async () => {
    await eventually(async () => (await count('gone', 'dead_lettered')) === 6, 15_000)
    expect(received.dead).toBe(6 * 4)
    expect(received.gone).toBe(6)
    const entries = (await redis.xrange(`${config.ALERTS_STREAM}:undelivered`, '-', '+')).map(([, f]) => {
      const m = new Map<string, string>()
      for (let i = 0; i < f.length; i += 2) m.set(f[i]!, f[i + 1]!)
      return m
    })
    const of = (hook: string) => entries.filter((e) => e.get('hook') === hook)
    expect(
      of('broken')
        .map((e) => e.get('alertId'))
        .sort(),
    ).toEqual(ids)
    expect(of('broken').every((e) => e.get('attempts') === '4' && e.get('reason') === 'HTTP 500')).toBe(true)
    expect(of('gone').every((e) => e.get('attempts') === '1' && e.get('reason') === 'HTTP 410')).toBe(true)
    expect((JSON.parse(of('gone')[0]!.get('data')!) as RiskAlert).type).toBe('risk.alert')
    const pending = (await redis.xpending(config.ALERTS_STREAM, config.NOTIFIER_GROUP)) as [number]
    expect(pending[0]).toBe(0)
  })

  it('never logs the secret or a webhook URL', () => {
    const text = logs.join('')
    expect(text).toContain('webhook delivery dead-lettered')
    expect(text).not.toContain(SECRET)
    expect(text).not.toContain('127.0.0.1')
  })
})

describe('notifier configuration', () => {
  it.each([
    ['ops=json:', 'entry 1'],
    ['ops=xml:https://x.example', 'entry 1'],
    ['ops=json:https://a.example,ops=slack:https://b.example', 'appears twice'],
    ['bad name=json:https://a.example', 'entry 1'],
  ])('ALERT_WEBHOOKS=%s is refused (%s), never echoing a URL', (raw, says) => {
    expect(() => parseWebhooks(raw)).toThrow(says)
    try {
      parseWebhooks(raw)
    } catch (err) {
      expect((err as Error).message).not.toContain('example')
    }
  })

  it('needs a secret for json hooks, and webhooks for the notifier role', () => {
    const base = testEnv({})
    const noSecret = loadAnalyticsConfig({ ...base, ALERT_WEBHOOKS: 'ops=json:https://a.example' })
    expect(notifierProblem(noSecret)).toMatch(/^ALERT_WEBHOOK_SECRET: /)
    const slackOnly = loadAnalyticsConfig({ ...base, ALERT_WEBHOOKS: 'chat=slack:https://hooks.example' })
    expect(notifierProblem(slackOnly)).toBeUndefined()
    expect(notifierProblem(loadAnalyticsConfig({ ...base, ANALYTICS_ROLE: 'notifier' }))).toMatch(
      /^ALERT_WEBHOOKS: /,
    )
    expect(() => loadAnalyticsConfig({ ...base, ALERT_WEBHOOK_SECRET: 'short' })).toThrow(
      /ALERT_WEBHOOK_SECRET/,
    )
  })

  it('backs off exponentially with jitter, capped', () => {
    const policy = { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 1000, timeoutMs: 1000 }
    // The wait after failed attempt n is the shared backoff's pause before retry n - 1.
    const wait = (n: number, random: () => number) => backoffDelay(n - 1, retryBackoff(policy), random)
    expect([1, 2, 3, 4, 5].map((n) => wait(n, () => 1))).toEqual([100, 200, 400, 800, 1000])
    expect([1, 2, 3, 4, 5].map((n) => wait(n, () => 0))).toEqual([50, 100, 200, 400, 500])
  })
})

describe('a notifier whose database is away', () => {
  // Its delivery records are in that database, so it cannot tell what a hook took: nothing is posted,
  // and the alert waits in place, however healthy the hook (review finding) and whatever MAX_DELIVERIES.
  it.each<[string, () => string, string | undefined]>([
    ['a hook that is down, MAX_DELIVERIES 2', () => 'chat=slack:http://127.0.0.1:9/never', '2'],
    ['a hook that is up, MAX_DELIVERIES at its default', () => `chat=slack:${hookBase}/slack`, undefined],
  ])(
    'with %s: keeps the alert pending and retries it in place instead of dead-lettering it',
    async (_, hooks, max) => {
      const env = testEnv({
        ANALYTICS_ROLE: 'notifier',
        ALERT_WEBHOOKS: hooks(),
        ...(max ? { MAX_DELIVERIES: max } : {}),
      })
      const posted = received.slack
      const cfg = loadAnalyticsConfig(env)
      const r = redisFor(cfg)
      const lines: string[] = []
      const away = createDb<Database>({ url: 'mysql://root@127.0.0.1:1/nowhere', connectionLimit: 1 })
      const n = createNotifier({
        config: cfg,
        redis: r,
        db: away,
        logger: pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) }),
        registry: new Registry(),
        blockMs: 100,
      })
      // The group exists, as for a deployment whose notifier ran before.
      await r.xgroup(
        'CREATE',
        `${cfg.REDIS_KEY_PREFIX}${cfg.ALERTS_STREAM}`,
        cfg.NOTIFIER_GROUP,
        '$',
        'MKSTREAM',
      )
      try {
        await n.start()
        await r.xadd(
          cfg.ALERTS_STREAM,
          '*',
          ...encodeEvent(newRiskAlert('user-db', { score: 80, holderScore: 60, factors: [] })),
        )
        // More tries than MAX_DELIVERIES allows deliveries, all of the same delivery.
        await eventually(
          async () =>
            lines.filter((l) => l.includes('transient error; retrying')).length > cfg.MAX_DELIVERIES + 1,
        )
        expect(await r.xlen(notifierDeadLetterStream(cfg))).toBe(0)
        expect(received.slack, 'posted without its delivery records').toBe(posted)
      } finally {
        await n.stop()
        await away.destroy()
      }
      const pending = (await r.xpending(cfg.ALERTS_STREAM, cfg.NOTIFIER_GROUP)) as [number]
      expect(pending[0]).toBe(1)
      await dropRedis(r)
    },
  )
})

describe('a notifier stopped mid-delivery', () => {
  it('leaves the alert pending; the next one posts it only to the hook that had not taken it', async () => {
    let flaky = true
    const seen = { steady: [] as string[], flaky: [] as string[] }
    const server = createServer((req, res) => {
      let body = ''
      req.on('data', (d) => {
        body += d
      })
      req.on('end', () => {
        const hook = req.url!.slice(1) as 'steady' | 'flaky'
        if (hook === 'flaky' && flaky) return void res.writeHead(503).end()
        seen[hook].push((JSON.parse(body) as RiskAlert).id)
        res.writeHead(200).end()
      })
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    const env = testEnv({
      ANALYTICS_ROLE: 'notifier',
      ALERT_WEBHOOKS: `steady=json:${base}/steady,flaky=json:${base}/flaky`,
      ALERT_WEBHOOK_SECRET: SECRET,
      NOTIFIER_MAX_ATTEMPTS: '20',
      NOTIFIER_RETRY_BASE_MS: '50',
      NOTIFIER_RETRY_MAX_MS: '50',
    })
    const cfg = loadAnalyticsConfig(env)
    const r = redisFor(cfg)
    const silent = pino({ level: 'silent' })
    const first = createNotifier({
      config: cfg,
      redis: r,
      db: t.db,
      logger: silent,
      registry: new Registry(),
      blockMs: 100,
    })
    await first.start()
    const alert = newRiskAlert('user-x', { score: 80, holderScore: 60, factors: [] })
    await r.xadd(cfg.ALERTS_STREAM, '*', ...encodeEvent(alert))
    await eventually(async () => seen.steady.length === 1)
    await first.stop()
    const pending = (await r.xpending(cfg.ALERTS_STREAM, cfg.NOTIFIER_GROUP)) as [number]
    expect(pending[0]).toBe(1)

    flaky = false
    const second = createNotifier({
      config: cfg,
      redis: r,
      db: t.db,
      logger: silent,
      registry: new Registry(),
      blockMs: 100,
    })
    await second.start()
    await eventually(async () => seen.flaky.length === 1)
    await eventually(
      async () => ((await r.xpending(cfg.ALERTS_STREAM, cfg.NOTIFIER_GROUP)) as [number])[0] === 0,
    )
    await second.stop()
    expect(seen).toEqual({ steady: [alert.id], flaky: [alert.id] })
    await new Promise((done) => server.close(done))
    await dropRedis(r)
  })
})
