import { existsSync } from 'node:fs'
import { waitFor } from '@africhain/testing'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CHROMIUM, launch, openPage, screenshots, seriousViolations } from './helpers/browser.ts'
import { type Answer, PASSWORD, type System, startSystem } from './helpers/system.ts'

// The console in Chromium against the real token service and analytics (API + worker) processes: who gets in,
// an attack seen live and in the flagged list, revoke-all and unlock from the UI, the IP view, the daily report.
// Every page is screenshotted at 1280 and 360 px (test-results/screenshots) and checked with axe-core.
const hasChromium = existsSync(CHROMIUM)
if (!hasChromium)
  console.warn(`console browser tests skipped: ${CHROMIUM} not found (apt-get install -y chromium)`)

const suffix = String(Date.now() % 1e6).padStart(6, '0')
const ANALYST = `analyst.${suffix}@example.com`
const PLAIN = `plain.${suffix}@example.com`
const VICTIM = `+254711${suffix}`
const STUFFER_IP = '203.0.113.7'
const DEVICE = { id: 'victim-phone-1', platform: 'android', name: 'Amina phone' }
/** Other accounts on the attacker's list (real ones: the IP view shows every account touched). */
const OTHERS = [0, 1, 2, 3].map((i) => `+254722${i}${suffix.slice(1)}`)
/** Markup in attacker-controlled event fields (a device name, a User-Agent) that must render as text. */
const XSS_NAME = '<img src=x onerror="window.__xss=1">'
const XSS_AGENT = '<script>window.__xss=2</script><svg onload="window.__xss=3">'

let system: System
let browser: Browser
let page: Page
let problems: string[]
let victimId: string
/** An access token of the victim's session that stays live until the analyst revokes everything. */
let victimAccess: string
/** The victim's token pair from the login right after the unlock. */
let unlockedLogin: Answer['body']

async function signIn(identifier: string): Promise<void> {
  await page.goto(system.consoleUrl)
  await page.getByLabel('Identifier (phone or email)').fill(identifier)
  await page.getByLabel('Password').fill(PASSWORD)
  await page.getByRole('button', { name: 'Sign in' }).click()
}

async function open(hash: string, heading: string | RegExp): Promise<void> {
  await page.evaluate((h) => {
    location.hash = h
  }, hash)
  await page.getByRole('heading', { level: 1, name: heading }).waitFor()
}

async function check(name: string): Promise<void> {
  await screenshots(page, name)
  expect(await seriousViolations(page), `axe on ${name}`).toEqual([])
}

const victimLogin = (headers: Record<string, string> = {}) =>
  system.token('/auth/login', { identifier: VICTIM, password: PASSWORD, device: DEVICE }, headers)

describe.skipIf(!hasChromium)('the security console in a browser', () => {
  beforeAll(async () => {
    system = await startSystem('console')
    await system.register(ANALYST, 'user security')
    await system.register(PLAIN)
    victimId = await system.register(VICTIM)
    for (const other of OTHERS) await system.register(other)
    browser = await launch()
    ;({ page, problems } = await openPage(browser))
  })
  afterAll(async () => {
    await browser?.close()
    await system?.close()
  })

  it('refuses a user without the security role, with a clear page', async () => {
    await page.goto(system.consoleUrl)
    await page.getByRole('button', { name: 'Sign in' }).waitFor()
    await check('sign-in')
    await signIn(PLAIN)
    await page.getByRole('heading', { name: 'Not allowed' }).waitFor()
    expect(await page.textContent('main')).toContain('needs security or admin')
    await check('not-allowed')
    await page.getByRole('button', { name: 'Sign out' }).click()
    await page.getByRole('button', { name: 'Sign in' }).waitFor()
  })

  it('lets an analyst in, on the overview with its charts', async () => {
    await signIn(ANALYST)
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor()
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor()
    await page.locator('.chart-box canvas').first().waitFor()
    expect(await page.textContent('main')).toContain('active sessions')
    expect(await page.textContent('main')).toContain('consumer lag')
    await check('overview')
    // From the top of the page, the first Tab reaches the skip link, the next ones the navigation.
    await page.evaluate(() => {
      // Focus the body itself: the next Tab starts from the top of the document.
      document.body.tabIndex = -1
      document.body.focus()
      document.body.removeAttribute('tabindex')
    })
    await page.keyboard.press('Tab')
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content')
  })

  it('shows a replayed refresh token and a credential-stuffing burst in the live feed within 2 s', async () => {
    await open('#/live', 'Live feed')
    await page.locator('.live-state.live').waitFor()
    // The victim's own phone: one session that stays live (for revoke-all below), one whose token is replayed.
    victimAccess = (await victimLogin()).body.accessToken!
    const stolen = (await victimLogin()).body.refreshToken
    const next = (await system.token('/auth/refresh-token', { refreshToken: stolen, device: DEVICE })).body
    await system.token('/auth/refresh-token', { refreshToken: next.refreshToken, device: DEVICE })

    const replayAt = Date.now()
    const replay = await system.token('/auth/refresh-token', { refreshToken: stolen, device: DEVICE })
    expect(replay.body.code).toBe('TOKEN_REUSED')
    await page.locator('tr', { hasText: 'token.reuse_detected' }).first().waitFor({ timeout: 2_000 })
    const reuseSeenMs = Date.now() - replayAt

    // One client address tries a leaked password list: the victim's account six times, then strangers.
    const stuffAt = Date.now()
    const from = { 'x-forwarded-for': STUFFER_IP }
    for (let i = 0; i < 6; i++)
      await system.token(
        '/auth/login',
        { identifier: VICTIM, password: `wrong-${i}`, device: { platform: 'web' } },
        from,
      )
    // The attacker also controls what the events carry about the client: markup there must stay text.
    for (const identifier of OTHERS)
      await system.token(
        '/auth/login',
        { identifier, password: 'password1', device: { platform: 'web', name: XSS_NAME } },
        { ...from, 'user-agent': XSS_AGENT },
      )
    await page.locator('tr', { hasText: 'user.locked' }).first().waitFor({ timeout: 2_000 })
    const lockSeenMs = Date.now() - stuffAt
    console.info(`live feed: reuse detection shown after ${reuseSeenMs} ms, lockout after ${lockSeenMs} ms`)
    expect(await page.locator('tr', { hasText: STUFFER_IP }).count()).toBeGreaterThan(0)
    // Each row names the account, not only its id (resolved through the admin API).
    await page
      .locator('tr', { hasText: 'token.reuse_detected' })
      .filter({ hasText: VICTIM })
      .first()
      .waitFor()
    // The device name shows as the characters it is: no element made of it, no handler run.
    await page.locator('tr', { hasText: XSS_NAME }).first().waitFor()
    expect(await page.locator('main img, main script').count()).toBe(0)
    expect(await page.evaluate(() => (window as { __xss?: number }).__xss)).toBeUndefined()
    await check('live')
  })

  it('lists the victim among the flagged users with their identifier and factors', async () => {
    await open('#/flagged', 'Flagged users')
    const row = page.locator('tr', { hasText: VICTIM })
    await waitFor(
      async () => {
        if ((await row.count()) > 0) return true
        await page.evaluate(() => location.reload())
        await page.getByRole('heading', { level: 1, name: 'Flagged users' }).waitFor()
        return false
      },
      'the victim in the flagged list',
      15_000,
    )
    expect(await row.textContent()).toContain('token reuse')
    expect(await row.textContent()).toContain(`Test ${VICTIM}`)
    await check('flagged')
    await row.getByRole('link').click()
    await page.getByRole('heading', { level: 1, name: VICTIM }).waitFor()
  })

  it('revokes all the victim’s sessions from the user page: their access token answers 401 next', async () => {
    expect(
      (await system.token('/auth/me', undefined, { authorization: `Bearer ${victimAccess}` })).status,
    ).toBe(200)
    await page.getByText('Amina phone').first().waitFor()
    await check('user')
    await page.getByRole('button', { name: 'Revoke all sessions' }).click()
    await page.getByRole('dialog').getByRole('button', { name: 'Revoke all' }).click()
    await page
      .getByRole('status')
      .getByText(/Revoked 1 session of/)
      .waitFor()
    const me = await system.token('/auth/me', undefined, { authorization: `Bearer ${victimAccess}` })
    expect(me.status).toBe(401)
    expect(me.body.code).toBe('TOKEN_REVOKED')
    // The action is an event: it shows in the timeline (refreshed every few seconds), with the analyst as actor.
    await page
      .locator('#timeline-title ~ * tr', { hasText: 'reason admin' })
      .first()
      .waitFor({ timeout: 10_000 })
  })

  it('unlocks the victim’s login after confirmation', async () => {
    await page.getByText('locked', { exact: true }).first().waitFor()
    // From the keyboard: Enter opens the confirmation, Escape backs out and nothing happens.
    await page.getByRole('button', { name: 'Unlock login' }).focus()
    await page.keyboard.press('Enter')
    await page.getByRole('dialog').waitFor()
    await page.keyboard.press('Escape')
    await page.getByRole('dialog').waitFor({ state: 'hidden' })
    expect((await victimLogin()).body.code).toBe('LOGIN_LOCKED')
    await page.keyboard.press('Enter')
    await page.getByRole('dialog').getByRole('button', { name: 'Unlock' }).click()
    await page.getByRole('status').getByText(`Unlocked login for ${VICTIM}.`).waitFor()
    const relogin = await victimLogin()
    expect(relogin.status).toBe(200)
    unlockedLogin = relogin.body
    await page.locator('tr', { hasText: 'user.unlocked' }).first().waitFor({ timeout: 10_000 })
  })

  it('revokes one session from its card: that token answers 401, the others live on', async () => {
    const pairs = [unlockedLogin, (await victimLogin()).body, (await victimLogin()).body]
    await page.reload()
    await page.getByRole('heading', { level: 1, name: VICTIM }).waitFor()
    const cards = page.locator('.session')
    await waitFor(async () => (await cards.count()) === 3, 'the three live sessions on the page')
    await cards.last().getByRole('button', { name: 'Revoke this session' }).click()
    await page
      .getByRole('dialog', { name: 'Revoke this session' })
      .getByRole('button', { name: 'Revoke session' })
      .click()
    const said = await page
      .getByRole('status')
      .getByText(/Revoked the session/)
      .textContent()
    const revoked = pairs.find((p) => said?.includes(`${p.sessionId?.slice(0, 8)}…`))
    expect(revoked, said ?? '').toBeDefined()
    for (const pair of pairs) {
      const me = await system.token('/auth/me', undefined, { authorization: `Bearer ${pair.accessToken}` })
      expect(me.status, pair.sessionId).toBe(pair === revoked ? 401 : 200)
    }
  })

  it('shows every account the stuffing IP touched', async () => {
    await open(`#/ips/${STUFFER_IP}`, `IP ${STUFFER_IP}`)
    await page.getByText('accounts touched').waitFor()
    const failed = Number(
      await page.locator('.stat', { hasText: 'failed logins' }).locator('.stat-value').textContent(),
    )
    expect(failed).toBeGreaterThanOrEqual(5)
    expect(
      Number(
        await page.locator('.stat', { hasText: 'accounts touched' }).locator('.stat-value').textContent(),
      ),
    ).toBe(5)
    await page.locator('a', { hasText: victimId }).first().waitFor()
    await page.locator('a', { hasText: OTHERS[0]! }).first().waitFor()
    await check('ip')
  })

  it('charts the last 24 h by type on the overview, each series toggled from the keyboard', async () => {
    await open('#/', 'Overview')
    // Every event of this run is within the last 24 h: the window's total of a type is today's plus yesterday's.
    const analystAccess = await page.evaluate(
      () => JSON.parse(sessionStorage.getItem('africhain.console') ?? '{}').accessToken as string,
    )
    const report = async (day: number) => {
      const date = new Date(Date.now() + day * 86_400_000).toISOString().slice(0, 10)
      const res = await fetch(`${system.analyticsUrl}/analytics/report?date=${date}`, {
        headers: { authorization: `Bearer ${analystAccess}` },
      })
      return (await res.json()) as Record<string, number> & { revocations: { total: number } }
    }
    const [today, yesterday] = [await report(0), await report(-1)]
    const total = (r: typeof today, key: string) => (key === 'revocations' ? r.revocations.total : r[key]!)
    const types = { Logins: 'logins', 'Failed logins': 'failedLogins', Refreshes: 'refreshes' }
    const expected = Object.fromEntries(
      Object.entries({ ...types, Revocations: 'revocations', 'Reuse detections': 'reuseDetections' }).map(
        ([label, key]) => [label, total(today, key) + total(yesterday, key)],
      ),
    )
    // The attack above: 9+ failed logins, a reuse detection, revocations; the figures are not all zero.
    expect(expected['Failed logins']).toBeGreaterThanOrEqual(9)
    expect(expected['Reuse detections']).toBeGreaterThanOrEqual(1)
    expect(expected.Revocations).toBeGreaterThanOrEqual(2)
    const shown = async () =>
      Object.fromEntries(
        await page
          .locator('label.toggle')
          .evaluateAll((labels) =>
            labels.map((l) => [
              l.textContent?.replace(/\d+ vs \d+$/, ''),
              l.querySelector('.toggle-n')?.textContent,
            ]),
          ),
      )
    // The page refreshes every 5 s: wait for the figures that include the last events.
    const matches = (s: Record<string, string | undefined>) =>
      Object.entries(expected).every(([label, n]) => s[label] === `${n} vs 0`)
    await waitFor(
      async () => matches(await shown()),
      'the overview’s totals by type over the last 24 h',
      15_000,
    )
    await page.locator('.chart-box canvas').first().waitFor()
    const chartLabel = () => page.locator('.series-chart .chart-box').first().getAttribute('aria-label')
    expect(await chartLabel()).toContain('Reuse detections per hour, last 24 h')
    expect(await chartLabel()).not.toContain('All events')
    // From the keyboard: Tab moves along the legend, Space hides a series and shows it again.
    const refreshes = page.getByRole('checkbox', { name: /^Refreshes/ })
    await page.getByRole('checkbox', { name: /^Failed logins/ }).focus()
    await page.keyboard.press('Tab')
    expect(await refreshes.evaluate((el) => el === document.activeElement)).toBe(true)
    await page.keyboard.press('Space')
    expect(await refreshes.isChecked()).toBe(false)
    expect(await chartLabel()).not.toContain('Refreshes per hour')
    // The choice outlives the page's next refresh.
    const generated = () => page.locator('p.muted', { hasText: 'Generated' }).textContent()
    const shownAt = await generated()
    await waitFor(async () => (await generated()) !== shownAt, 'the overview’s next refresh', 10_000)
    expect(await refreshes.isChecked()).toBe(false)
    expect(await chartLabel()).not.toContain('Refreshes per hour')
    await page.locator('.figures summary').first().click()
    const columns = () => page.locator('.figures thead th').allTextContents()
    expect(await columns()).toEqual([
      'Hour (UTC)',
      'Logins',
      'Failed logins',
      'Revocations',
      'Reuse detections',
    ])
    await refreshes.focus()
    await page.keyboard.press('Space')
    expect(await refreshes.isChecked()).toBe(true)
    expect(await chartLabel()).toContain('Refreshes per hour')
    await check('overview')
  })

  it('renders today’s daily report with its hourly chart and a CSV download', async () => {
    await open('#/report', /^Daily report \d{4}-\d{2}-\d{2}$/)
    await page.locator('.chart-box canvas').waitFor()
    const logins = Number(
      await page.locator('.stat', { hasText: 'logins' }).first().locator('.stat-value').textContent(),
    )
    expect(logins).toBeGreaterThan(0)
    // All events at first; a tick adds the logins per hour (against the previous day).
    const day = (await page.getByRole('heading', { level: 1 }).textContent())?.slice(-10)
    const chartLabel = () => page.locator('.series-chart .chart-box').getAttribute('aria-label')
    expect(await chartLabel()).toMatch(/^All events per hour/)
    await page.getByRole('checkbox', { name: /^Logins/ }).check()
    expect(await chartLabel()).toContain(`Logins per hour, ${day}`)
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download CSV' }).click(),
    ])
    const csv = await download.createReadStream().then(async (s) => (await s.toArray()).join(''))
    expect(csv).toMatch(/^metric,\d{4}-\d{2}-\d{2},\d{4}-\d{2}-\d{2},change\r\n/)
    expect(csv).toContain('hour (UTC)')
    await check('report')
  })

  it('finds a user by another spelling of their identifier', async () => {
    await open('#/find', 'Find a user or an IP')
    await check('find')
    await page.getByLabel('Phone number, email address or IP').fill(VICTIM.replace('+254711', '+254 711 '))
    await page.getByRole('button', { name: 'Find' }).click()
    await page.getByRole('heading', { level: 1, name: VICTIM }).waitFor()
  })

  it('ends the analyst’s session on sign-out, and saw no CSP violation or script error', async () => {
    const stored = await page.evaluate(() => sessionStorage.getItem('africhain.console'))
    const analystAccess = JSON.parse(stored ?? '{}').accessToken as string
    expect(analystAccess).toBeTruthy()
    await page.getByRole('button', { name: 'Sign out' }).click()
    await page.getByRole('button', { name: 'Sign in' }).waitFor()
    const me = await system.token('/auth/me', undefined, { authorization: `Bearer ${analystAccess}` })
    expect(me.status).toBe(401)
    expect(problems).toEqual([])
  })
})
