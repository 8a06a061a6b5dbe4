// `pnpm chaos`: the whole system as separate OS processes on loopback — two token-service instances, one
// analytics API, two analytics workers — under mixed traffic at both token instances (logins, refreshes,
// concurrent refreshes of one token on both instances, revocations). Mid-run it SIGKILLs one token instance
// and one worker. Afterwards it checks, and prints the counts of:
//   - no session forked: one `session.refreshed` event per session and generation on the stream (every won
//     rotation writes exactly one, in its transaction), and one refresh-token row per session and generation
//     among the rows kept (rotation keeps a live session's current and previous token rows only),
//   - no revoked token accepted (access and refresh tokens of every revoked session),
//   - every committed event counted exactly once by analytics (stream ids = stored ids; report = events),
//   - clients that retried against the surviving instance kept working.
// Exits non-zero on any violation. Uses its own database and Redis key prefix; bounded in time.
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { createDb, dropDatabase, ensureDatabase } from '@africhain/db'
import { decodeEvent } from '@africhain/events'
import { Cluster, Redis } from 'ioredis'
import { sql } from 'kysely'
import { freePort } from './free-port.ts'
import { type LocalRedisCluster, startLocalRedisCluster } from './redis-cluster.ts'

const root = fileURLToPath(new URL('../../', import.meta.url))
const dbName = `chaos_${randomBytes(3).toString('hex')}`
const DATABASE_URL = `mysql://root@127.0.0.1:3306/${dbName}`
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
// `pnpm chaos --cluster`: the same run on a real 3-master Redis Cluster started for it.
const ON_CLUSTER = process.argv.includes('--cluster')
let cluster: LocalRedisCluster | undefined
const clusterEnv = (): Record<string, string> => (cluster ? { REDIS_CLUSTER_NODES: cluster.nodes } : {})
/** A plain client (no key prefix) on the single Redis or the cluster, for the checks. */
const rawRedis = (): Redis =>
  cluster
    ? (new Cluster(
        cluster.nodes.split(',').map((n) => ({ host: n.split(':')[0]!, port: Number(n.split(':')[1]) })),
      ) as unknown as Redis)
    : new Redis(REDIS_URL)
const PREFIX = `chaos:${randomBytes(3).toString('hex')}:`
const TRAFFIC_MS = Number(process.env.CHAOS_TRAFFIC_MS ?? 12_000)
const USERS = 24

const children: { name: string; proc: ChildProcess; log: string[] }[] = []
function start(name: string, entry: string, env: Record<string, string>) {
  const proc = spawn(process.execPath, [entry], {
    cwd: root,
    env: {
      ...process.env,
      DATABASE_URL,
      REDIS_URL,
      ...clusterEnv(),
      REDIS_KEY_PREFIX: PREFIX,
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const log: string[] = []
  proc.stdout!.on('data', (d) => log.push(String(d)))
  proc.stderr!.on('data', (d) => log.push(String(d)))
  children.push({ name, proc, log })
  return proc
}

async function until(what: string, probe: () => Promise<boolean>, ms = 30_000) {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    if (await probe().catch(() => false)) return
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`timed out waiting for ${what}`)
}

type Json = Record<string, unknown>
async function call(base: string, path: string, init: { method?: string; body?: Json; token?: string } = {}) {
  const res = await fetch(base + path, {
    method: init.method ?? (init.body ? 'POST' : 'GET'),
    headers: {
      ...(init.body ? { 'content-type': 'application/json' } : {}),
      ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
    },
    body: init.body ? JSON.stringify(init.body) : undefined,
    signal: AbortSignal.timeout(5_000),
  })
  const text = await res.text()
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as Json }
}

const counts = {
  logins: 0,
  refreshes: 0,
  concurrentRefreshRaces: 0,
  revocations: 0,
  failovers: 0,
  networkErrorsSeen: 0,
}

/** A client behind a load balancer: tries its preferred instance, fails over to the other on network errors. */
async function viaBalancer(
  bases: string[],
  first: number,
  path: string,
  init: Parameters<typeof call>[2] = {},
) {
  for (let attempt = 0; attempt < 4; attempt++) {
    const base = bases[(first + attempt) % bases.length]!
    try {
      const res = await call(base, path, init)
      if (attempt > 0) counts.failovers++
      return res
    } catch {
      counts.networkErrorsSeen++
    }
  }
  throw new Error(`all instances failed for ${path}`)
}

type Device = { id: string; platform: string }
type Session = {
  userId: string
  sessionId: string
  access: string
  refresh: string
  /** The device the session is bound to: every refresh names it. */
  device: Device
  revoked: boolean
}
const deviceOf = (i: number): Device => ({ id: `dev-${i}`, platform: i % 3 ? 'android' : 'web' })

async function main() {
  if (ON_CLUSTER) cluster = await startLocalRedisCluster()
  await ensureDatabase(DATABASE_URL)
  const ports = { a: await freePort(), b: await freePort(), api: await freePort() }
  const tokenA = start('token-a', 'services/token/src/server.ts', {
    TOKEN_PORT: String(ports.a),
    ...limitsOff,
  })
  const bases = [`http://127.0.0.1:${ports.a}`, `http://127.0.0.1:${ports.b}`]
  await until('token-a', async () => (await call(bases[0]!, '/health/ready')).status === 200)
  start('token-b', 'services/token/src/server.ts', { TOKEN_PORT: String(ports.b), ...limitsOff })
  await until('token-b', async () => (await call(bases[1]!, '/health/ready')).status === 200)
  const analyticsEnv = {
    TOKEN_SERVICE_URL: bases[1]!,
    CLAIM_IDLE: '3s',
    ANALYTICS_PORT: String(ports.api),
  }
  start('analytics-api', 'services/analytics/src/server.ts', { ...analyticsEnv, ANALYTICS_ROLE: 'api' })
  const worker1 = start('worker-1', 'services/analytics/src/server.ts', {
    ...analyticsEnv,
    ANALYTICS_ROLE: 'worker',
    CONSUMER_NAME: 'w1',
  })
  start('worker-2', 'services/analytics/src/server.ts', {
    ...analyticsEnv,
    ANALYTICS_ROLE: 'worker',
    CONSUMER_NAME: 'w2',
  })
  const apiBase = `http://127.0.0.1:${ports.api}`
  await until('analytics api', async () => (await call(apiBase, '/health/ready')).status === 200)

  // Users and their first sessions, on alternating instances.
  const sessions: Session[] = []
  for (let i = 0; i < USERS; i++) {
    const identifier = `chaos.${i}.${randomBytes(3).toString('hex')}@example.com`
    const reg = await viaBalancer(bases, i, '/auth/register', {
      body: { identifier, password: 'chaos password' },
    })
    const pair = await viaBalancer(bases, i + 1, '/auth/login', {
      body: {
        identifier,
        password: 'chaos password',
        device: deviceOf(i),
      },
    })
    counts.logins++
    sessions.push({
      userId: reg.body.userId as string,
      sessionId: pair.body.sessionId as string,
      access: pair.body.accessToken as string,
      refresh: pair.body.refreshToken as string,
      device: deviceOf(i),
      revoked: false,
    })
  }

  const stopAt = Date.now() + TRAFFIC_MS
  let killedToken = false
  let killedWorker = false
  const chaos = (async () => {
    await new Promise((r) => setTimeout(r, TRAFFIC_MS / 3))
    tokenA.kill('SIGKILL')
    killedToken = true
    await new Promise((r) => setTimeout(r, TRAFFIC_MS / 6))
    worker1.kill('SIGKILL')
    killedWorker = true
    // A replacement joins the group under a new name; the dead consumer's pending entries are claimed
    // (XAUTOCLAIM) once idle for CLAIM_IDLE.
    start('worker-3', 'services/analytics/src/server.ts', {
      ...analyticsEnv,
      ANALYTICS_ROLE: 'worker',
      CONSUMER_NAME: 'w3',
    })
  })()

  const loops = sessions.map(async (s, i) => {
    let step = 0
    while (Date.now() < stopAt && !s.revoked) {
      step++
      const pick = (i + step) % 2
      if (step % 5 === 0) {
        // The same refresh token presented concurrently to both instances: one successor, never a fork.
        const [x, y] = await Promise.all(
          [0, 1].map((k) =>
            viaBalancer(bases, pick + k, '/auth/refresh-token', {
              body: { refreshToken: s.refresh, device: s.device },
            }),
          ),
        )
        counts.concurrentRefreshRaces++
        const ok = [x!, y!].filter((r) => r.status === 200)
        if (ok.length === 2 && ok[0]!.body.refreshToken !== ok[1]!.body.refreshToken)
          throw new Error('forked refresh!')
        if (ok[0]) {
          s.refresh = ok[0].body.refreshToken as string
          s.access = ok[0].body.accessToken as string
          counts.refreshes++
        }
      } else if (step === 17 && i % 4 === 0) {
        const res = await viaBalancer(bases, pick, '/auth/logout', { method: 'POST', token: s.access })
        if (res.status === 204) {
          s.revoked = true
          counts.revocations++
        }
      } else {
        const res = await viaBalancer(bases, pick, '/auth/refresh-token', {
          body: { refreshToken: s.refresh, device: s.device },
        })
        if (res.status === 200) {
          s.refresh = res.body.refreshToken as string
          s.access = res.body.accessToken as string
          counts.refreshes++
        } else if (res.status !== 429) {
          throw new Error(`refresh failed: ${res.status} ${JSON.stringify(res.body)}`)
        }
        const me = await viaBalancer(bases, pick + 1, '/auth/me', { token: s.access })
        if (me.status !== 200)
          throw new Error(`a live session was refused: ${me.status} ${JSON.stringify(me.body)}`)
      }
    }
  })
  await Promise.all([...loops, chaos])
  const trafficEnded = Date.now()
  if (!killedToken || !killedWorker) throw new Error('the kills did not happen during traffic')

  const problems: string[] = []
  // 1. No revoked token accepted, on the surviving instance.
  let revokedChecked = 0
  for (const s of sessions.filter((x) => x.revoked)) {
    const me = await call(bases[1]!, '/auth/me', { token: s.access })
    const rf = await call(bases[1]!, '/auth/refresh-token', {
      body: { refreshToken: s.refresh, device: s.device },
    })
    if (me.status !== 401 || rf.status !== 401) problems.push(`revoked session ${s.sessionId} still accepted`)
    revokedChecked++
  }
  // Live sessions keep working.
  let liveChecked = 0
  for (const s of sessions.filter((x) => !x.revoked)) {
    const me = await call(bases[1]!, '/auth/me', { token: s.access })
    if (me.status !== 200) problems.push(`live session ${s.sessionId} refused: ${me.status}`)
    liveChecked++
  }

  const db = createDb<Record<string, never>>({ url: DATABASE_URL })
  const redis = rawRedis()
  try {
    // 2. No session forked: among the refresh-token rows kept (below), and on the stream (after the drain).
    const forks = await sql<{ n: number }>`
      select count(*) as n from (select session_id, generation from refresh_tokens
      group by session_id, generation having count(*) > 1) f`.execute(db)
    if (Number(forks.rows[0]?.n) !== 0) problems.push(`${forks.rows[0]?.n} forked session generations`)

    // 3. Every committed event relayed and counted exactly once.
    await until('the outbox to drain', async () => {
      const r = await sql<{ n: number }>`select count(*) as n from outbox where stream_key is null`.execute(
        db,
      )
      return Number(r.rows[0]?.n) === 0
    })
    const entries = await redis.xrange(`${PREFIX}session-events`, '-', '+')
    const streamIds = new Set<string>()
    let created = 0
    const rotations = new Map<string, Set<string>>() // session and generation → ids of its refreshed events
    for (const [, fields] of entries) {
      const d = decodeEvent(fields)
      if (!d.ok) continue
      if (!streamIds.has(d.event.id) && d.event.type === 'session.created') created++
      if (d.event.type === 'session.refreshed') {
        const key = `${d.event.sessionId}:${d.event.data.generation}`
        rotations.set(key, (rotations.get(key) ?? new Set()).add(d.event.id))
      }
      streamIds.add(d.event.id)
    }
    const forkedOnStream = [...rotations.values()].filter((ids) => ids.size > 1).length
    if (forkedOnStream !== 0) problems.push(`${forkedOnStream} session generations rotated to twice (stream)`)
    let stored = 0
    await until(
      'analytics to store every event',
      async () => {
        const r = await sql<{ n: number }>`select count(*) as n from analytics_events`.execute(db)
        stored = Number(r.rows[0]?.n)
        return stored >= streamIds.size
      },
      45_000,
    )
    const catchUpMs = Date.now() - trafficEnded
    const storedIds = await sql<{ id: string }>`select id from analytics_events`.execute(db)
    const missing = [...streamIds].filter((id) => !storedIds.rows.some((r) => r.id === id))
    if (missing.length > 0 || stored !== streamIds.size) {
      problems.push(
        `stream has ${streamIds.size} distinct events, analytics stored ${stored} (${missing.length} missing)`,
      )
    }
    const counters = await sql<{ n: number }>`
      select coalesce(sum(count), 0) as n from analytics_counters where metric = 'logins'`.execute(db)
    const reported = Number(counters.rows[0]?.n)
    if (reported !== created) {
      problems.push(`analytics counted ${reported} logins for ${created} session.created events`)
    }

    console.log(`chaos run${cluster ? ' (Redis Cluster, 3 masters)' : ''}:`)
    console.log(`  traffic: ${JSON.stringify(counts)}`)
    console.log(`  killed: token-a (SIGKILL) and worker-1 (SIGKILL, replaced by worker-3) mid-run`)
    console.log(
      `  analytics caught up ${catchUpMs} ms after traffic stopped (outbox drained, every event stored)`,
    )
    console.log(
      `  sessions forked: ${forks.rows[0]?.n} among kept rows, ${forkedOnStream} among ${rotations.size} rotations on the stream`,
    )
    console.log(`  revoked sessions checked (access + refresh refused): ${revokedChecked}`)
    console.log(`  live sessions checked (still accepted): ${liveChecked}`)
    console.log(
      `  events: ${streamIds.size} distinct on the stream, ${stored} stored by analytics, logins counted ${reported} for ${created} session.created`,
    )
  } finally {
    redis.disconnect()
    await db.destroy()
  }
  if (problems.length > 0) {
    console.error(`chaos run FAILED:\n  - ${problems.join('\n  - ')}`)
    process.exitCode = 1
  } else {
    console.log('chaos run: all checks passed')
  }
}

const limitsOff = {
  RATE_LIMIT_LOGIN: 'off',
  RATE_LIMIT_REGISTER: 'off',
  RATE_LIMIT_REFRESH: 'off',
  PASSWORD_HASH_COST: '12',
}

const running = (p: ChildProcess) => p.exitCode === null && p.signalCode === null

async function cleanup() {
  const alive = children.filter((c) => running(c.proc))
  const exits = alive.map((c) => new Promise((r) => c.proc.once('exit', r)))
  for (const c of alive) c.proc.kill('SIGTERM')
  await Promise.all(exits)
  if (cluster) {
    await cluster.stop() // its data goes with it
  } else {
    const redis = new Redis(REDIS_URL)
    try {
      let cursor = '0'
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${PREFIX}*`, 'COUNT', 1000)
        cursor = next
        if (keys.length) await redis.del(...keys)
      } while (cursor !== '0')
    } finally {
      redis.disconnect()
    }
  }
  await dropDatabase(DATABASE_URL)
}

const guard = setTimeout(() => {
  console.error(
    'chaos run: overall deadline passed; still running:',
    children
      .filter((c) => running(c.proc))
      .map((c) => c.name)
      .join(', '),
  )
  for (const c of children) c.proc.kill('SIGKILL')
  process.exit(1)
}, 180_000)
try {
  await main()
} catch (err) {
  console.error(`chaos run FAILED: ${(err as Error).message}`)
  for (const c of children) {
    const tail = c.log
      .join('')
      .split('\n')
      .filter((l) => !l.includes('"level":30'))
      .slice(-5)
      .join('\n')
    if (tail.trim()) console.error(`--- ${c.name}\n${tail}`)
  }
  process.exitCode = 1
} finally {
  await cleanup()
  clearTimeout(guard)
}
