import { infraPids } from '../lib/cpu.ts'
import { type HttpSide, httpPairs } from '../lib/http-pairs.ts'
import { median } from '../lib/paired.ts'
import { type Child, freePort, startNode, waitForHttp } from '../lib/proc.ts'
import { type BenchResult, fmt, section } from '../lib/report.ts'
import { startSystem } from '../lib/system.ts'
import { type BenchEnv, CHAIN_DEVICE, login, PASSWORD, pool, register } from '../lib/token-service.ts'
import { openProbes, waitSettled } from '../system/probes.ts'
import { chainPairs } from '../system/refresh.ts'
import { checkBetterAuth, checkOidc, checkOurs } from './checks.ts'
import { CLIENT } from './oidc-client.ts'

export const PEER_CONFIG = [
  'oidc-provider 9: refresh_token grant, rotateRefreshToken true, opaque tokens, introspection + revocation on, ' +
    'a Redis adapter (bench/peers/oidc-redis-adapter.ts), client_secret_post, scope openid offline_access ' +
    '(each refresh also signs an RS256 ID token), its development signing keys, no TLS',
  'better-auth 1.7: email + password (its scrypt N 2^14 r 16 = our N 2^15 r 8 in memory and work), bearer plugin, ' +
    'MySQL through its kysely adapter, Redis secondary storage (sessions there), cookie cache off, its rate limiter off',
  'ours: the whole system as pnpm start runs it (token service + analytics API and worker), rate limits off',
]

const UNFAIR = [
  "oidc-provider's refresh is not durable here: its tokens live in Redis only; ours commits to MySQL (and its outbox) before answering",
  'oidc-provider introspection authenticates a client and looks the opaque token up in Redis; /auth/me verifies an Ed25519 JWT and reads one Redis key',
  "better-auth's get-session reads its session from Redis and re-signs nothing; it has no refresh-token rotation, so it has no refresh figure",
  'ours runs the analytics worker beside it (its CPU is in our per-request figures); the peers have no event pipeline',
]

/**
 * `pnpm bench peers`: better-auth and oidc-provider beside our system, each in its own process on this
 * machine, the same scenarios (is this token still valid now; refresh with rotation; login with scrypt),
 * a correctness check first, then alternating pairs against ours.
 */
export async function benchPeers(
  env: BenchEnv,
  opts: { seconds: number; pairs: number },
): Promise<BenchResult[]> {
  const results: BenchResult[] = []
  const system = await startSystem(env)
  const infra = infraPids(env.databaseUrl, env.redisUrl)
  const probes = await openProbes(env)
  const peers: Child[] = []
  try {
    const [oidcPort, baPort] = [await freePort(), await freePort()]
    const oidcUrl = `http://127.0.0.1:${oidcPort}`
    const baUrl = `http://127.0.0.1:${baPort}`
    const oidc = startNode('oidc-provider', 'bench/peers/oidc-server.ts', {
      env: { PORT: String(oidcPort), REDIS_KEY_PREFIX: `${env.redisPrefix}oidc:` },
    })
    const ba = startNode('better-auth', 'bench/peers/better-auth-server.ts', {
      env: { PORT: String(baPort), DATABASE_URL: env.databaseUrl, REDIS_KEY_PREFIX: `${env.redisPrefix}ba:` },
    })
    peers.push(oidc, ba)
    await waitForHttp(`${oidcUrl}/.well-known/openid-configuration`, oidc)
    await waitForHttp(`${baUrl}/health`, ba, 60_000)

    section('peers: configuration')
    for (const line of PEER_CONFIG) console.log(`  ${line}`)
    section('peers: correctness first')
    const ours = { url: system.tokenUrl }
    const identifier = `peers-${Date.now()}@bench.example`
    await register(ours, identifier)
    const email = `peers-${Date.now()}@bench.example`
    const signUp = await fetch(`${baUrl}/api/auth/sign-up/email`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: baUrl },
      body: JSON.stringify({ email, password: PASSWORD, name: 'bench' }),
    })
    if (signUp.status !== 200)
      throw new Error(`better-auth sign-up → ${signUp.status}: ${await signUp.text()}`)
    console.log(`  ${await checkOurs(system.tokenUrl, identifier, PASSWORD, CHAIN_DEVICE)}`)
    console.log(`  ${await checkOidc(oidcUrl)}`)
    console.log(`  ${await checkBetterAuth(baUrl, email, PASSWORD)}`)

    const oursProcs = {
      token: system.pids.token,
      analytics: system.pids.analytics,
      mariadb: infra.mariadb,
      redis: infra.redis,
    }
    const { accessToken } = await login(ours, identifier, CHAIN_DEVICE.id)
    const me: HttpSide = {
      label: 'ours /auth/me',
      request: { url: `${system.tokenUrl}/auth/me`, headers: { authorization: `Bearer ${accessToken}` } },
      connections: 50,
      procs: oursProcs,
    }
    const grant = await fetch(`${oidcUrl}/bench/grant`, { method: 'POST' }).then((r) => r.json())
    const introspect: HttpSide = {
      label: 'oidc introspection',
      request: {
        url: `${oidcUrl}/token/introspection`,
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token: grant.accessToken, ...CLIENT }).toString(),
      },
      connections: 50,
      procs: { oidc: oidc.proc.pid, redis: infra.redis },
    }
    const signIn = await fetch(`${baUrl}/api/auth/sign-in/email`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: baUrl },
      body: JSON.stringify({ email, password: PASSWORD }),
    })
    const baToken = signIn.headers.get('set-auth-token')
    await signIn.arrayBuffer()
    const getSession: HttpSide = {
      label: 'better-auth get-session',
      request: { url: `${baUrl}/api/auth/get-session`, headers: { authorization: `Bearer ${baToken}` } },
      connections: 50,
      procs: { 'better-auth': ba.proc.pid, mariadb: infra.mariadb, redis: infra.redis },
    }
    const push = (name: string, goal: number, r: Awaited<ReturnType<typeof httpPairs>>, unit: string) =>
      results.push({
        name,
        measured: `${fmt(r.subject.rps)} ${unit}`,
        reference: `${fmt(r.reference.rps)} ${unit}`,
        ratio: median(r.ratios),
        goal: { op: '>=', value: goal },
        notes: [
          `pair ratios ${r.ratios.map((x) => x.toFixed(2)).join(' ')}; p99 ${r.subject.p99} vs ${r.reference.p99} ms`,
          `CPU per request: ours ${r.subject.cpuText}; peer ${r.reference.cpuText}`,
        ],
      })
    section('peers: "is this token still valid now" — /auth/me vs oidc-provider introspection')
    push('peers: /auth/me ÷ oidc introspection', 3, await httpPairs(me, introspect, opts), 'req/s')
    section('peers: "is this token still valid now" — /auth/me vs better-auth get-session')
    push('peers: /auth/me ÷ better-auth get-session', 10, await httpPairs(me, getSession, opts), 'req/s')

    section('peers: refresh with rotation, 32 chains — ours (durable) vs oidc-provider (Redis adapter)')
    const r = await chainPairs(
      {
        label: 'ours',
        baseUrl: system.tokenUrl,
        mode: 'token',
        procs: oursProcs,
        settle: () => waitSettled(probes, system),
        topUp: async (states) => [
          ...states,
          ...(await pool(
            32 - states.length,
            4,
            async () => (await login(ours, identifier, CHAIN_DEVICE.id)).refreshToken,
          )),
        ],
      },
      {
        label: 'oidc-provider',
        baseUrl: oidcUrl,
        mode: 'oidc',
        client: CLIENT,
        procs: { oidc: oidc.proc.pid, redis: infra.redis },
        topUp: async (states) => [
          ...states,
          ...(await pool(
            32 - states.length,
            8,
            async () =>
              (
                await fetch(`${oidcUrl}/bench/grant`, { method: 'POST' }).then((x) => x.json())
              ).refreshToken,
          )),
        ],
      },
      { pairs: opts.pairs, seconds: opts.seconds, warmupSeconds: 1 },
    )
    results.push({
      name: 'peers: refresh ÷ oidc-provider refresh',
      measured: `${fmt(median(r.subject.rps))} refresh/s`,
      reference: `${fmt(median(r.reference.rps))} refresh/s`,
      ratio: median(r.ratios),
      goal: { op: '>=', value: 0.5 },
      notes: [
        `pair ratios ${r.ratios.map((x) => x.toFixed(2)).join(' ')}; CPU per refresh (median): ours ${median(r.subject.cpuUs).toFixed(0)} µs, ` +
          `oidc-provider ${median(r.reference.cpuUs).toFixed(0)} µs`,
      ],
    })

    section(
      'peers: login with scrypt at the same cost — ours vs better-auth (4 connections: our lockout refuses a 6th at once)',
    )
    const loginBody = JSON.stringify({
      identifier,
      password: PASSWORD,
      device: { ...CHAIN_DEVICE, name: 'bench' },
    })
    push(
      'peers: login ÷ better-auth sign-in',
      0.5,
      await httpPairs(
        {
          label: 'ours login',
          request: {
            url: `${system.tokenUrl}/auth/login`,
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: loginBody,
          },
          connections: 4,
          procs: oursProcs,
        },
        {
          label: 'better-auth sign-in',
          request: {
            url: `${baUrl}/api/auth/sign-in/email`,
            method: 'POST',
            headers: { 'content-type': 'application/json', origin: baUrl },
            body: JSON.stringify({ email, password: PASSWORD }),
          },
          connections: 4,
          procs: { 'better-auth': ba.proc.pid, mariadb: infra.mariadb, redis: infra.redis },
        },
        { ...opts, warmupSeconds: 1 },
      ),
      'logins/s',
    )
    for (const r of results)
      if (r.name.startsWith('peers: login'))
        r.notes?.push('no goal in the issue: 0.5 is only a floor for "same cost"')
    section('peers: what makes these comparisons unfair')
    for (const line of UNFAIR) console.log(`  ${line}`)
    return results
  } finally {
    for (const p of peers) await p.stop()
    await probes.close()
    await system.stop()
  }
}
