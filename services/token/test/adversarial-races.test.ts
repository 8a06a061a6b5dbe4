import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { waitFor } from '@africhain/testing'
import { createAccessTokenVerifier, importJwks, readSessionState } from '@africhain/verifier'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hashRefreshToken } from '../src/domain/refresh-token.ts'
import { keyEncryption } from '../src/keys/key-crypto.ts'
import { createSigningKey } from '../src/keys/key-ring.ts'
import { userRepository } from '../src/storage/user.repository.ts'
import {
  authed,
  LOGIN_DEVICE,
  login,
  PASSWORD,
  type Pair,
  refresh,
  register,
  signIn,
  useTestApp,
} from './helpers/app.ts'
import { decodeProtectedHeader } from './helpers/jwt.ts'
import { freePort } from './helpers/process.ts'

// Races between two token-service instances on one database and one Redis (two replicas behind a balancer):
// refresh against logout-all against an admin revoke of the same session; a burst of correct logins for one
// account; concurrent refreshes of one chain in every interleaving; a signing key rotated while traffic
// flows; and instances whose clocks disagree. rotation.test.ts owns the plain grace-window and reuse rules.
// The default 10 s grace window: the clock-skew instances below are 20 s off, and the window is judged on
// the database's clock, so their skew does not matter to it.
const {
  apps: [a, b],
  config,
  redis,
} = useTestApp('adv_races', { instances: 2 })
let officerToken: string

beforeAll(async () => {
  const officer = await register(a)
  await userRepository(a.db).setRoles(officer.userId, ['user', 'security'])
  officerToken = (await login(a, officer.identifier)).accessToken
})

type Res = Awaited<ReturnType<typeof refresh>>
const codeOf = (r: Res): string | undefined => (r.statusCode >= 400 ? r.json().code : undefined)
const on = (i: number) => (i % 2 === 0 ? a : b)
/** Lets other requests run first: `n` turns of the event loop (an interleaving, not a wait). */
async function yields(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r))
}

/** Every event written so far: in the outbox or already relayed to the stream (the outbox is read first). */
async function eventsOf(
  sessionId: string,
): Promise<{ id: string; type: string; data: { reason?: string } }[]> {
  const rows = await a.db.selectFrom('outbox').select('payload').execute()
  const entries = await redis.xrange(config.EVENTS_STREAM, '-', '+')
  const byId = new Map<string, { id: string; type: string; sessionId?: string; data: { reason?: string } }>()
  for (const e of [
    ...rows.map((r) => JSON.parse(r.payload)),
    ...entries.map(([, fields]) => JSON.parse(fields[fields.indexOf('data') + 1]!)),
  ])
    byId.set(e.id, e)
  return [...byId.values()].filter((e) => e.sessionId === sessionId)
}

/** A resource server elsewhere (the analytics API): keys from the JWKS document, state from Redis only. */
async function resourceServer() {
  const keys = importJwks((await a.inject('/.well-known/jwks.json')).json())
  return createAccessTokenVerifier({
    issuer: config.TOKEN_ISSUER,
    audience: config.TOKEN_AUDIENCE,
    keys: { get: (kid) => keys.get(kid), refresh: async () => {} },
    sessionState: (sid, sub) => readSessionState(redis, sid, sub),
  })
}

/** No token of the session works anywhere: both instances, a Redis-only resource server, and MySQL agrees. */
async function expectDeadEverywhere(sessionId: string, access: string[], refreshTokens: string[]) {
  const elsewhere = await resourceServer()
  for (const token of new Set(access)) {
    for (const app of [a, b]) {
      const res = await authed(app, 'GET', '/auth/me', token)
      expect(res.statusCode, res.body).toBe(401)
      expect(res.json().code).toBe('TOKEN_REVOKED')
    }
    await expect(elsewhere(token)).rejects.toMatchObject({ code: 'TOKEN_REVOKED' })
  }
  for (const token of new Set(refreshTokens)) {
    for (const app of [a, b]) {
      const res = await refresh(app, token)
      expect(res.statusCode, res.body).toBe(401)
      expect(res.json().code).toBe('TOKEN_REVOKED')
    }
  }
  const row = await a.db
    .selectFrom('sessions')
    .select(['revoked_at'])
    .where('id', '=', sessionId)
    .executeTakeFirstOrThrow()
  expect(row.revoked_at).not.toBeNull()
  expect(await readSessionState(redis, sessionId, 'anyone')).toBe('revoked')
}

describe('refresh racing logout-all racing an admin revoke (property)', () => {
  type Kind = 'refresh' | 'logout-all' | 'admin-revoke' | 'logout' | 'revoke-session' | 'me'
  type Op = { kind: Kind; instance: number; delay: number; order: number }
  const opOf = (kind: fc.Arbitrary<Kind>) =>
    fc.record({ kind, instance: fc.nat(1), delay: fc.nat(4), order: fc.nat() })
  // Always one refresh, one logout-all and one admin revoke; up to five more of anything; any start order.
  const schedule = fc
    .tuple(
      opOf(fc.constant('refresh')),
      opOf(fc.constant('logout-all')),
      opOf(fc.constant('admin-revoke')),
      fc.array(
        opOf(
          fc.constantFrom(
            'refresh',
            'refresh',
            'logout-all',
            'admin-revoke',
            'logout',
            'revoke-session',
            'me',
          ),
        ),
        {
          maxLength: 5,
        },
      ),
    )
    .map(([r, l, ad, more]) => [r, l, ad, ...more].sort((x, y) => x.order - y.order))

  const allowed: Record<Kind, (string | number)[]> = {
    refresh: [200, 'TOKEN_REVOKED', 'TOKEN_REUSED'], // reused: a stale presentation of the test's own
    'logout-all': [200, 'TOKEN_REVOKED'],
    'admin-revoke': [200],
    logout: [204, 'TOKEN_REVOKED'],
    'revoke-session': [204, 'TOKEN_REVOKED'],
    me: [200, 'TOKEN_REVOKED'],
  }

  it('afterwards no token of the session works anywhere, one revocation event, never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(schedule, async (ops: Op[]) => {
        const victim = await signIn(on(ops[0]!.instance))
        const seen = { access: [victim.pair.accessToken], refresh: [victim.pair.refreshToken] }
        let latest: Pair = victim.pair
        const results = await Promise.all(
          ops.map(async (op) => {
            await yields(op.delay)
            const app = on(op.instance)
            const current = latest // what this client holds when it sends
            switch (op.kind) {
              case 'refresh': {
                const res = await refresh(app, current.refreshToken)
                if (res.statusCode === 200) {
                  const next: Pair = res.json()
                  seen.access.push(next.accessToken)
                  seen.refresh.push(next.refreshToken)
                  latest = next
                }
                return res
              }
              case 'logout-all':
                return authed(app, 'POST', '/auth/logout-all', current.accessToken, {})
              case 'admin-revoke':
                return authed(app, 'POST', `/auth/admin/users/${victim.userId}/revoke-sessions`, officerToken)
              case 'logout':
                return authed(app, 'POST', '/auth/logout', current.accessToken)
              case 'revoke-session':
                return authed(app, 'POST', '/auth/revoke-session', current.accessToken, {
                  sessionId: victim.pair.sessionId,
                })
              case 'me':
                return authed(app, 'GET', '/auth/me', current.accessToken)
            }
          }),
        )
        results.forEach((res, i) => {
          const op = ops[i]!
          expect(res.statusCode, `${op.kind}: ${res.body}`).toBeLessThan(500)
          expect(allowed[op.kind], `${op.kind}: ${res.statusCode} ${res.body}`).toContain(
            codeOf(res) ?? res.statusCode,
          )
        })
        // The revocations between them revoked the session once.
        const revokedCounts = results
          .filter((r, i) => ['logout-all', 'admin-revoke'].includes(ops[i]!.kind) && r.statusCode === 200)
          .map((r) => r.json().revoked as number)
        expect(revokedCounts.every((n) => n === 0 || n === 1)).toBe(true)
        await expectDeadEverywhere(victim.pair.sessionId, seen.access, seen.refresh)
        const revokedEvents = (await eventsOf(victim.pair.sessionId)).filter(
          (e) => e.type === 'session.revoked',
        )
        expect(revokedEvents, JSON.stringify(revokedEvents)).toHaveLength(1)
      }),
      { numRuns: 15 },
    )
  })
})

describe('a burst of logins for one account with the right password', () => {
  it('each succeeds or is cleanly refused (429 with Retry-After), never a 5xx; the account stays usable', async () => {
    const user = await register(a)
    const N = 24
    const results = await Promise.all(
      Array.from({ length: N }, (_, i) =>
        on(i).inject({
          method: 'POST',
          url: '/auth/login',
          remoteAddress: `198.51.100.${i + 1}`,
          payload: { identifier: user.identifier, password: PASSWORD, device: LOGIN_DEVICE },
        }),
      ),
    )
    for (const res of results) {
      expect([200, 429], res.body).toContain(res.statusCode)
      if (res.statusCode === 429) {
        expect(['LOGIN_LOCKED', 'RATE_LIMITED']).toContain(res.json().code)
        expect(Number(res.headers['retry-after'])).toBeGreaterThan(0)
      }
    }
    const ok: Pair[] = results.filter((r) => r.statusCode === 200).map((r) => r.json())
    // At most LOGIN_LOCK_THRESHOLD passwords are verified per window, and each of those is right.
    expect(ok.length).toBeGreaterThanOrEqual(Math.min(N, config.LOGIN_LOCK_THRESHOLD))
    expect(new Set(ok.map((p) => p.sessionId)).size).toBe(ok.length)
    for (const [i, pair] of ok.entries())
      expect((await authed(on(i + 1), 'GET', '/auth/me', pair.accessToken)).statusCode).toBe(200)
    // Refused attempts were not failures: the burst did not lock the account.
    expect((await login(b, user.identifier)).sessionId).toEqual(expect.any(String))
    const lockEvents = (await a.db.selectFrom('outbox').select('payload').execute())
      .map((r) => JSON.parse(r.payload))
      .filter((e) => e.type === 'user.locked' && e.userId === user.userId)
    expect(lockEvents).toEqual([])
  })
})

describe('concurrent refreshes of one chain on both instances never fork (property over interleavings)', () => {
  const generationOf = (token: string) => {
    const read = a.refreshTokens.read(token)
    return read?.kind === 'signed' ? read.generation : undefined
  }
  type Presentation = {
    instance: number
    delay: number
    which: 'latest' | 'previous' | 'original'
    device: 'bound' | 'other' | 'none'
  }
  const presentation = fc.record({
    instance: fc.nat(1),
    delay: fc.nat(5),
    which: fc.constantFrom('latest', 'latest', 'previous', 'original'),
    device: fc.constantFrom('bound', 'bound', 'bound', 'other', 'none'),
  })

  it('a successor set of at most one per token, one token per generation, and all of them known', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(presentation, { minLength: 2, maxLength: 14 }),
        async (plan: Presentation[]) => {
          const { pair } = await signIn(a)
          const chain = [pair.refreshToken] // every refresh token the clients have seen, in order
          const successors = new Map<string, Set<string>>()
          const results = await Promise.all(
            plan.map(async (p) => {
              await yields(p.delay)
              const token =
                p.which === 'latest'
                  ? chain.at(-1)!
                  : p.which === 'previous'
                    ? (chain.at(-2) ?? chain[0]!)
                    : chain[0]!
              const device =
                p.device === 'bound'
                  ? LOGIN_DEVICE
                  : p.device === 'other'
                    ? { id: 'intruder', platform: 'web' }
                    : null
              const res = await refresh(on(p.instance), token, device)
              if (res.statusCode === 200) {
                const next: string = res.json().refreshToken
                if (!successors.has(token)) successors.set(token, new Set())
                successors.get(token)!.add(next)
                if (!chain.includes(next)) chain.push(next)
              }
              return res
            }),
          )
          results.forEach((res, i) => {
            const p = plan[i]!
            expect(res.statusCode, res.body).toBeLessThan(500)
            const outcome = codeOf(res) ?? res.statusCode
            if (p.device === 'bound') expect([200, 'TOKEN_REUSED', 'TOKEN_REVOKED']).toContain(outcome)
            // A refresh from another device, or naming none, never advances the chain; an old token is
            // reuse whichever device presents it.
            else expect(['DEVICE_MISMATCH', 'TOKEN_REVOKED', 'TOKEN_REUSED']).toContain(outcome)
          })
          for (const [, next] of successors) expect(next.size).toBeLessThanOrEqual(1)

          // One token per generation: the generations the tokens clients were given carry (MAC-verified)
          // are 1, 2, … each once, in the order they were handed out.
          expect(chain.map((t) => generationOf(t))).toEqual(chain.map((_, i) => i + 1))
          // MySQL keeps the hashes of the current and the previous token on the session row (no token
          // rows): the last two generations, each a token a client was given.
          const kept = await a.db
            .selectFrom('sessions')
            .select(['current_hash', 'previous_hash'])
            .where('id', '=', pair.sessionId)
            .executeTakeFirstOrThrow()
          const hex = (b: Buffer | null) => (b === null ? null : Buffer.from(b).toString('hex'))
          expect([hex(kept.previous_hash), hex(kept.current_hash)]).toEqual(
            (chain.length === 1 ? [null, chain[0]!] : chain.slice(-2)).map((t) =>
              t === null ? null : hashRefreshToken(t).toString('hex'),
            ),
          )
          expect(
            await a.db
              .selectFrom('refresh_tokens')
              .select('hash')
              .where('session_id', '=', pair.sessionId)
              .execute(),
          ).toEqual([])

          const reused = results.some((r) => codeOf(r) === 'TOKEN_REUSED')
          const session = await a.db
            .selectFrom('sessions')
            .select(['revoked_at', 'generation'])
            .where('id', '=', pair.sessionId)
            .executeTakeFirstOrThrow()
          expect(session.generation).toBe(chain.length)
          if (reused) {
            expect(session.revoked_at).not.toBeNull()
            for (const token of chain) expect(codeOf(await refresh(on(1), token))).toBe('TOKEN_REVOKED')
          } else {
            // Alive, with exactly one live chain: its head rotates, on either instance.
            expect(session.revoked_at).toBeNull()
            expect((await refresh(on(plan.length), chain.at(-1)!)).statusCode).toBe(200)
          }
        },
      ),
      { numRuns: 20 },
    )
  })
})

describe('signing-key rotation mid-traffic', () => {
  it('no token fails early; one instance learns the key from the first token it does not know; both converge', async () => {
    const failures: string[] = []
    const issued: { token: string; kid: string; by: 'a' | 'b' }[] = []
    const lanes = await Promise.all([0, 1, 2, 3].map(() => signIn(a)))
    let stop = false

    async function lane(index: number): Promise<void> {
      let pair = lanes[index]!.pair
      for (let i = index; !stop; i++) {
        const by = i % 2 === 0 ? 'a' : 'b'
        const res = await refresh(by === 'a' ? a : b, pair.refreshToken)
        if (res.statusCode !== 200) {
          failures.push(`refresh on ${by}: ${res.body}`)
          return
        }
        pair = res.json()
        issued.push({
          token: pair.accessToken,
          kid: decodeProtectedHeader(pair.accessToken).kid as string,
          by,
        })
        // The new token on the other instance, and an older one (maybe of the old key) on both.
        const older = issued[Math.floor(Math.random() * issued.length)]!
        for (const [app, token] of [
          [by === 'a' ? b : a, pair.accessToken],
          [a, older.token],
          [b, older.token],
        ] as const) {
          const me = await authed(app, 'GET', '/auth/me', token)
          if (me.statusCode !== 200) failures.push(`${older.kid} on ${app === a ? 'a' : 'b'}: ${me.body}`)
        }
      }
    }

    const oldKid = decodeProtectedHeader(lanes[0]!.pair.accessToken).kid as string
    // b reloads now; the key is created and a reloads at once. b's next reload is its 30 s timer, or the first
    // token of the new key it sees (its unknown-kid reload is throttled to one per 5 s: activation is later).
    await b.keyRing.load()
    const activatesAt = new Date(Date.now() + 6_000)
    const newKid = await createSigningKey(a.db, keyEncryption(config.KEY_ENCRYPTION_SECRET), activatesAt)
    await a.keyRing.load()
    expect(
      (await a.inject('/.well-known/jwks.json')).json().keys.map((k: { kid: string }) => k.kid),
    ).toContain(newKid)

    const running = [0, 1, 2, 3].map(lane)
    try {
      await waitFor(
        () =>
          failures.length > 0 ||
          (issued.filter((t) => t.kid === newKid && t.by === 'a').length >= 10 &&
            issued.filter((t) => t.kid === newKid && t.by === 'b').length >= 10),
        'both instances to sign with the new key',
        30_000,
      )
    } finally {
      stop = true
      await Promise.all(running)
    }
    expect(failures).toEqual([])
    expect(issued.some((t) => t.kid === oldKid && t.by === 'b')).toBe(true)
    // Every token issued during the run still works on both instances, the old key's included.
    for (const { token } of issued)
      for (const app of [a, b]) expect((await authed(app, 'GET', '/auth/me', token)).statusCode).toBe(200)
    for (const app of [a, b]) {
      const kids = (await app.inject('/.well-known/jwks.json')).json().keys.map((k: { kid: string }) => k.kid)
      expect(kids).toEqual(expect.arrayContaining([oldKid, newKid]))
    }
    // The old key stays published until every token it signed has expired, on both instances.
    const exps = issued
      .filter((t) => t.kid === oldKid)
      .map((t) => JSON.parse(Buffer.from(t.token.split('.')[1]!, 'base64url').toString()).exp as number)
    const lastExpiry = Math.max(...exps) * 1000
    for (const app of [a, b])
      expect(app.keyRing.published(lastExpiry - 1000).map((k) => k.kid)).toContain(oldKid)
  })
})

// ---- clock skew ------------------------------------------------------------------------------------------

/**
 * buildApp takes no clock (the session use cases do, but the signer's `iat`, the verifier and the key ring read the
 * process clock), so a skewed instance is a real process whose Date is shifted before anything loads.
 */
const SKEWED_CLOCK = `data:text/javascript,${encodeURIComponent(`
const skew = Number(process.env.CLOCK_SKEW_MS ?? 0);
const RealDate = globalThis.Date;
const realNow = RealDate.now.bind(RealDate);
class SkewedDate extends RealDate {
  constructor(...args) { if (args.length === 0) super(realNow() + skew); else super(...args); }
  static now() { return realNow() + skew; }
}
globalThis.Date = SkewedDate;
`)}`
const root = fileURLToPath(new URL('../../../', import.meta.url))

type Host = { name: string; skewMs: number; base: string; proc: ChildProcess; lines: string[] }
type Answer = { statusCode: number; body: string; json: () => Record<string, unknown> }

async function startSkewed(skewMs: number): Promise<Host> {
  const port = await freePort()
  const lines: string[] = []
  const proc = spawn(process.execPath, ['--import', SKEWED_CLOCK, 'services/token/src/server.ts'], {
    cwd: root,
    env: {
      ...process.env,
      CLOCK_SKEW_MS: String(skewMs),
      DATABASE_URL: config.DATABASE_URL,
      REDIS_URL: config.REDIS_URL,
      REDIS_KEY_PREFIX: config.REDIS_KEY_PREFIX ?? '',
      REDIS_CLUSTER_NODES: '',
      HOST: '127.0.0.1',
      TOKEN_PORT: String(port),
      LOG_LEVEL: 'warn',
      PASSWORD_HASH_COST: '10',
      RATE_LIMIT_LOGIN: 'off',
      RATE_LIMIT_REGISTER: 'off',
      RATE_LIMIT_REFRESH: 'off',
      RATE_LIMIT_INTROSPECT: 'off',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  for (const stream of [proc.stdout!, proc.stderr!])
    stream.on('data', (c: Buffer) => lines.push(c.toString()))
  const base = `http://127.0.0.1:${port}`
  await waitFor(
    async () => proc.exitCode === null && (await fetch(`${base}/health/ready`)).ok,
    `the instance ${skewMs} ms off to be ready (${lines.join('').slice(-500)})`,
    30_000,
  )
  return { name: `${skewMs > 0 ? '+' : ''}${skewMs / 1000} s`, skewMs, base, proc, lines }
}

describe('clock skew between instances', () => {
  let ahead: Host
  let behind: Host
  beforeAll(async () => {
    ;[ahead, behind] = await Promise.all([startSkewed(20_000), startSkewed(-20_000)])
  }, 60_000)
  afterAll(async () => {
    for (const host of [ahead, behind]) {
      if (!host || host.proc.exitCode !== null) continue
      const exited = new Promise((r) => host.proc.once('exit', r))
      host.proc.kill('SIGTERM')
      await exited
    }
  })

  /** The same calls on the in-process instance (real clock) and on a skewed process. */
  type Instance = {
    name: string
    call: (method: 'GET' | 'POST', url: string, token?: string, body?: unknown) => Promise<Answer>
  }
  const local: Instance = {
    name: 'real clock',
    call: async (method, url, token, body) => {
      const res = await a.inject({
        method,
        url,
        headers: token ? { authorization: `Bearer ${token}` } : {},
        ...(body !== undefined ? { payload: body as Record<string, unknown> } : {}),
      })
      return { statusCode: res.statusCode, body: res.body, json: () => res.json() }
    },
  }
  const remote = (host: Host): Instance => ({
    name: host.name,
    call: async (method, url, token, body) => {
      const res = await fetch(`${host.base}${url}`, {
        method,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      })
      const text = await res.text()
      return { statusCode: res.status, body: text, json: () => JSON.parse(text) }
    },
  })
  const loginOn = async (instance: Instance, identifier: string): Promise<Pair> => {
    const res = await instance.call('POST', '/auth/login', undefined, {
      identifier,
      password: PASSWORD,
      device: LOGIN_DEVICE,
    })
    expect(res.statusCode, res.body).toBe(200)
    return res.json() as Pair
  }
  const refreshOn = (instance: Instance, refreshToken: string) =>
    instance.call('POST', '/auth/refresh-token', undefined, { refreshToken, device: LOGIN_DEVICE })
  const pairs = () => [
    [remote(ahead), local],
    [local, remote(ahead)],
    [remote(behind), local],
    [local, remote(behind)],
  ]

  it('the skewed processes really run 20 s off (the test is not vacuous)', async () => {
    const user = await register(a)
    for (const [host, skew] of [
      [ahead, 20],
      [behind, -20],
    ] as const) {
      const pair = await loginOn(remote(host), user.identifier)
      const claims = JSON.parse(Buffer.from(pair.accessToken.split('.')[1]!, 'base64url').toString())
      expect(claims.iat - Math.floor(Date.now() / 1000)).toBeGreaterThanOrEqual(skew - 2)
      expect(claims.iat - Math.floor(Date.now() / 1000)).toBeLessThanOrEqual(skew + 2)
    }
  })

  it('within the 30 s tolerance, tokens issued by one are accepted by the other, both ways', async () => {
    for (const [issuer, verifier] of pairs()) {
      const user = await register(a)
      const pair = await loginOn(issuer!, user.identifier)
      const me = await verifier!.call('GET', '/auth/me', pair.accessToken)
      expect(me.statusCode, `${issuer!.name} → ${verifier!.name}: ${me.body}`).toBe(200)
      const rotated = await refreshOn(verifier!, pair.refreshToken)
      expect(rotated.statusCode, `${issuer!.name} → ${verifier!.name}: ${rotated.body}`).toBe(200)
      const next = rotated.json() as Pair
      expect((await issuer!.call('GET', '/auth/me', next.accessToken)).statusCode).toBe(200)
      expect((await refreshOn(issuer!, next.refreshToken)).statusCode).toBe(200)
    }
  })

  it('a grace-window replay on the other instance gets the same successor (skew inside the grace window)', async () => {
    for (const [rotator, replayer] of pairs()) {
      const user = await register(a)
      const pair = await loginOn(local, user.identifier)
      const first = await refreshOn(rotator!, pair.refreshToken)
      expect(first.statusCode, first.body).toBe(200)
      const replay = await refreshOn(replayer!, pair.refreshToken)
      expect(replay.statusCode, `${rotator!.name} rotated, ${replayer!.name} replayed: ${replay.body}`).toBe(
        200,
      )
      expect(replay.json().refreshToken).toBe(first.json().refreshToken)
    }
  })

  it('a revocation by a skewed instance takes effect at once everywhere', async () => {
    for (const host of [ahead, behind]) {
      const user = await register(a)
      const pair = await loginOn(local, user.identifier)
      const out = await remote(host).call('POST', '/auth/logout', pair.accessToken)
      expect(out.statusCode, out.body).toBe(204)
      for (const instance of [local, remote(ahead), remote(behind)]) {
        const res = await instance.call('GET', '/auth/me', pair.accessToken)
        expect(res.statusCode, `${instance.name}: ${res.body}`).toBe(401)
        expect(res.json().code).toBe('TOKEN_REVOKED')
        expect((await refreshOn(instance, pair.refreshToken)).json().code).toBe('TOKEN_REVOKED')
      }
    }
  })

  it('beyond the tolerance (40 s apart), a token is refused as TOKEN_INVALID, not accepted, not a 5xx', async () => {
    const user = await register(a)
    const pair = await loginOn(remote(ahead), user.identifier)
    const res = await remote(behind).call('GET', '/auth/me', pair.accessToken)
    expect(res.statusCode, res.body).toBe(401)
    expect(res.json().code).toBe('TOKEN_INVALID')
  })
})
