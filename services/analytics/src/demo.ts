/**
 * `pnpm demo`: a day of AfriChain sessions against the running system (`pnpm start`: token service on
 * :3001, analytics on :3002), then what the security team sees.
 *
 * Artisans register and sign in from Android, the web and USSD, refresh their tokens, list and end
 * sessions; a refresh token is stolen and replayed (TOKEN_REUSED); a credential-stuffing burst hits a few
 * accounts. A security user is created with `pnpm cli user:create --role security`, and the demo prints
 * the overview, the flagged users with their factors, and today's report.
 *
 * Client IPs are sent as X-Forwarded-For; the token service uses them only when started with
 * TRUST_PROXY=loopback (otherwise every event comes from the peer address and MULTIPLE_IPS cannot fire).
 *
 * Rate limits are per client address, and against a local system (the quick start) every request would
 * come from 127.0.0.1: the credential-stuffing burst would use up the demo's own login budget and the
 * analyst's sign-in would wait out the window. So each simulated client connects from its own loopback
 * address (127.0.0.2, 127.0.0.3, …; Linux answers on all of 127/8), and a 429 that still happens is waited
 * out for its Retry-After. Where those addresses cannot be bound (macOS), requests come from the default.
 */
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { sleep } from '@africhain/bus'
import { loadConfig, url } from '@africhain/config'
import { call, checkUp, type Device, type Pair, type Platform, type Reply } from './demo/http.ts'
import { step, table } from './demo/print.ts'

const config = loadConfig(
  {
    DEMO_TOKEN_URL: url('http://127.0.0.1:3001', ['http:', 'https:']),
    DEMO_ANALYTICS_URL: url('http://127.0.0.1:3002', ['http:', 'https:']),
  },
  process.env,
)
const TOKEN = config.DEMO_TOKEN_URL.replace(/\/$/, '')
const ANALYTICS = config.DEMO_ANALYTICS_URL.replace(/\/$/, '')
const root = fileURLToPath(new URL('../../../', import.meta.url))
const run = randomBytes(3).toString('hex')
const PASSWORD = `Kente-${run}-loom!`

const phone = () => `+2547${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`

type Artisan = { name: string; identifier: string; userId?: string; ip: string }

async function register(a: Artisan): Promise<void> {
  const r = await call(TOKEN, 'POST', '/auth/register', {
    body: { identifier: a.identifier, password: PASSWORD, displayName: a.name },
    ip: a.ip,
  })
  if (r.status !== 201) throw new Error(`register ${a.name}: ${r.status} ${JSON.stringify(r.body)}`)
  a.userId = String(r.body.userId)
}

async function login(a: Artisan, device: Device, ip = a.ip, rememberMe = false): Promise<Pair> {
  const r = await call(TOKEN, 'POST', '/auth/login', {
    body: { identifier: a.identifier, password: PASSWORD, device, rememberMe },
    ip,
    platform: device.platform,
  })
  if (r.status !== 200) throw new Error(`login ${a.name}: ${r.status} ${JSON.stringify(r.body)}`)
  return r.body as unknown as Pair
}

async function refresh(pair: Pair, device: Device, ip: string): Promise<Reply> {
  return call(TOKEN, 'POST', '/auth/refresh-token', {
    body: { refreshToken: pair.refreshToken, device },
    ip,
    platform: device.platform,
  })
}

async function simulateDay(): Promise<{ artisans: Artisan[]; victim: Artisan; targets: Artisan[] }> {
  const artisans: Artisan[] = [
    { name: 'Amina Wanjiku (basket weaver, Nairobi)', identifier: phone(), ip: '196.201.214.10' },
    { name: 'Kofi Mensah (kente weaver, Kumasi)', identifier: `kofi.${run}@kente.example`, ip: '41.66.12.9' },
    { name: 'Wanjiru Kamau (beadwork, Nakuru)', identifier: phone(), ip: '105.160.3.77' },
    { name: 'Tunde Bakare (carver, Ibadan)', identifier: `tunde.${run}@ibadan.example`, ip: '102.89.34.5' },
    { name: 'Fatuma Hassan (leather, Mombasa)', identifier: phone(), ip: '197.248.5.21' },
  ]
  step(`Registering ${artisans.length} artisans`)
  for (const a of artisans) {
    await register(a)
    console.log(`   ${a.name}: ${a.identifier}`)
  }
  const [amina, kofi, wanjiru, tunde, fatuma] = artisans as [Artisan, Artisan, Artisan, Artisan, Artisan]

  step('Morning: sign-ins on Android, the web and USSD; tokens refresh as the apps stay open')
  const aminaPhone: Device = { id: `amina-phone-${run}`, platform: 'android', name: "Amina's Tecno" }
  const kofiLaptop: Device = { id: `kofi-laptop-${run}`, platform: 'web', name: 'Shop laptop' }
  const wanjiruUssd: Device = { id: `wanjiru-ussd-${run}`, platform: 'ussd', name: 'Feature phone' }
  const tundeWeb: Device = { id: `tunde-web-${run}`, platform: 'web', name: 'Cyber café' }
  const tundePhone: Device = { id: `tunde-phone-${run}`, platform: 'android', name: 'Infinix' }
  let a = await login(amina, aminaPhone, amina.ip, true)
  let k = await login(kofi, kofiLaptop)
  const w = await login(wanjiru, wanjiruUssd)
  const t1 = await login(tunde, tundeWeb)
  const t2 = await login(tunde, tundePhone)
  for (let i = 0; i < 3; i++) {
    a = (await refresh(a, aminaPhone, amina.ip)).body as unknown as Pair
    k = (await refresh(k, kofiLaptop, kofi.ip)).body as unknown as Pair
  }
  const sessions = await call(TOKEN, 'GET', '/auth/sessions', { token: t1.accessToken, ip: tunde.ip })
  console.log(
    `   Tunde sees ${(sessions.body.sessions as unknown[]).length} active sessions (web and Android)`,
  )

  step('Midday: Wanjiru finishes on USSD and logs out; Tunde signs out of the café computer')
  await call(TOKEN, 'POST', '/auth/logout', { token: w.accessToken, ip: wanjiru.ip, platform: 'ussd' })
  await call(TOKEN, 'POST', '/auth/revoke-session', {
    body: { sessionId: t1.sessionId },
    token: t2.accessToken,
    ip: tunde.ip,
    platform: 'android',
  })

  step("Afternoon: Fatuma's refresh token is stolen from a compromised phone backup and replayed")
  const fatumaPhone: Device = { id: `fatuma-phone-${run}`, platform: 'android', name: "Fatuma's Samsung" }
  const stolen = await login(fatuma, fatumaPhone)
  let current = stolen
  for (let i = 0; i < 2; i++)
    current = (await refresh(current, fatumaPhone, fatuma.ip)).body as unknown as Pair
  const replay = await refresh(stolen, fatumaPhone, '154.160.22.7')
  console.log(`   attacker replays the old refresh token → ${replay.status} ${replay.body.code}`)
  const after = await refresh(current, fatumaPhone, fatuma.ip)
  console.log(
    `   Fatuma's own (current) token afterwards → ${after.status} ${after.body.code} (session revoked)`,
  )

  step('Evening: a credential-stuffing burst from a botnet against three accounts')
  const targets = [amina, kofi, tunde]
  const botnet = ['185.220.101.4', '45.155.205.233', '91.240.118.172', '193.35.18.49', '5.188.206.14']
  let attempts = 0
  const outcomes = new Map<string, number>()
  // Twelve tries per account within a minute: lockouts after five, and a rate a person never reaches.
  for (let round = 0; round < 12; round++) {
    for (const target of targets) {
      const r = await call(TOKEN, 'POST', '/auth/login', {
        body: {
          identifier: target.identifier,
          password: `guess-${round}-123456`,
          device: { platform: 'web' },
        },
        ip: botnet[attempts % botnet.length],
        waitOnLimit: false,
      })
      attempts++
      const code = String(r.body.code ?? r.status)
      outcomes.set(code, (outcomes.get(code) ?? 0) + 1)
    }
  }
  console.log(`   ${attempts} attempts: ${[...outcomes].map(([c, n]) => `${n}× ${c}`).join(', ')}`)
  return { artisans, victim: fatuma, targets }
}

function createSecurityUser(): { identifier: string } {
  const identifier = `security.${run}@africhain.example`
  step(`Creating a security analyst: pnpm cli user:create --identifier ${identifier} --role security`)
  // The CLI never takes a password on the command line: it reads it from standard input.
  const r = spawnSync('pnpm', ['cli', 'user:create', '--identifier', identifier, '--role', 'security'], {
    cwd: root,
    encoding: 'utf8',
    env: process.env,
    input: `${PASSWORD}\n`,
  })
  if (r.status !== 0) {
    console.error(r.stdout, r.stderr)
    throw new Error('pnpm cli user:create failed')
  }
  return { identifier }
}

async function main() {
  await checkUp([
    ['token service', TOKEN],
    ['analytics', ANALYTICS],
  ])
  console.log(`AfriChain sessions demo (run ${run}): token service ${TOKEN}, analytics ${ANALYTICS}`)
  // Signed in first: the access token outlives the demo, and the evening's burst cannot delay it.
  const analyst = createSecurityUser()
  const sec = await login(
    { name: 'Security analyst', identifier: analyst.identifier, ip: '10.10.0.5' },
    { id: `soc-${run}`, platform: 'web', name: 'SOC workstation' },
  )
  const { artisans, victim, targets } = await simulateDay()
  const names = new Map(artisans.map((a) => [a.userId, a.name]))
  const get = async (path: string) => {
    const r = await call(ANALYTICS, 'GET', path, { token: sec.accessToken })
    if (r.status !== 200) throw new Error(`${path}: ${r.status} ${JSON.stringify(r.body)}`)
    return r.body
  }

  step('Waiting for the analytics worker to catch up with the stream')
  const deadline = Date.now() + 15_000
  for (;;) {
    const events = (await get(`/analytics/events?userId=${victim.userId}&type=token.reuse_detected`))
      .events as unknown[]
    if (events.length > 0) break
    if (Date.now() > deadline) throw new Error('analytics did not see the replay within 15 s')
    await sleep(250)
  }

  console.log('\n══ What the security team sees ══')
  step('GET /analytics (system-wide, last 24 hours)')
  table(await get('/analytics'))

  step('GET /analytics/security/flagged')
  const flagged = (await get('/analytics/security/flagged')).users as {
    userId: string
    riskScore: number
    factors: { code: string; points: number; detail: unknown }[]
    recommendations: string[]
  }[]
  if (flagged.length === 0) console.log('   (nobody above the threshold)')
  for (const u of flagged) {
    console.log(`   ${names.get(u.userId) ?? u.userId}: score ${u.riskScore}`)
    for (const f of u.factors) console.log(`      +${f.points} ${f.code} ${JSON.stringify(f.detail)}`)
    for (const r of u.recommendations) console.log(`      → ${r}`)
  }

  step('GET /analytics/security?userId=… for the credential-stuffing targets')
  for (const target of targets) {
    const r = await get(`/analytics/security?userId=${target.userId}`)
    const factors = (r.factors as { code: string; points: number }[]).map((f) => `${f.code}+${f.points}`)
    console.log(
      `   ${target.name}: score ${r.riskScore}${r.suspicious ? ' (suspicious)' : ''} ${factors.join(' ')}`,
    )
  }

  step('GET /analytics/report (today, UTC)')
  const report = await get('/analytics/report')
  const { hourly, hourlyByType, comparedToPreviousDay, ...totals } = report
  table(totals)
  console.log(`   hourly (UTC)             ${(hourly as number[]).join(' ')}`)
  for (const [type, hours] of Object.entries(hourlyByType as Record<string, number[]>))
    console.log(`     ${type.padEnd(22)} ${hours.join(' ')}`)
  table({ comparedToPreviousDay })
  console.log('\nDone. Explore more at', `${ANALYTICS}/docs`)
}

main().catch((err) => {
  console.error(`demo failed: ${(err as Error).message}`)
  process.exit(1)
})
