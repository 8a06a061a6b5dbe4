import { existsSync } from 'node:fs'
import { type Browser, chromium } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bundleBrowser } from '../scripts/bundle.ts'
import type { BrowserApp } from './browser/app.ts'
import { type FakeTokenService, startFakeTokenService, USER } from './helpers/fake-token-service.ts'

const CHROMIUM = '/usr/bin/chromium'
const hasChromium = existsSync(CHROMIUM)
if (!hasChromium) {
  console.warn(`browser test skipped: ${CHROMIUM} not found (apt-get install -y chromium)`)
}

declare const app: BrowserApp

describe.skipIf(!hasChromium)('two browser tabs sharing localStorage', () => {
  let service: FakeTokenService
  let browser: Browser

  beforeAll(async () => {
    const script = await bundleBrowser({
      entryPoints: [new URL('./browser/app.ts', import.meta.url).pathname],
      format: 'iife',
    })
    const html = '<!doctype html><meta charset="utf-8"><title>client</title><script src="/app.js"></script>'
    // No grace window: a tab that refreshed with the already-rotated token would end the session.
    service = await startFakeTokenService({
      graceMs: 0,
      refreshDelayMs: 200,
      extraRoutes: (req, res) => {
        const file =
          req.url === '/' ? ['text/html', html] : req.url === '/app.js' ? ['text/javascript', script] : null
        if (!file) return false
        res.writeHead(200, { 'content-type': file[0]! })
        res.end(file[1])
        return true
      },
    })
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    })
  }, 60_000)

  afterAll(async () => {
    await browser?.close()
    await service?.close()
  })

  it('refreshes once between the two tabs, coordinated by the Web Locks API', async () => {
    const context = await browser.newContext()
    const [tabA, tabB] = [await context.newPage(), await context.newPage()]
    for (const tab of [tabA, tabB]) await tab.goto(service.baseUrl)

    expect(await tabA.evaluate(() => app.hasWebLocks)).toBe(true)
    await tabA.evaluate(({ identifier, password }) => app.auth.login({ identifier, password }), USER)
    const before = await tabB.evaluate(() => app.auth.getAccessToken()) // tab B uses tab A's login
    await tabA.evaluate(() => app.expire())
    service.expireAccessTokens()

    await tabA.evaluate(() => app.go()) // both tabs start 5 getAccessToken() calls at once
    const [tokensA, tokensB] = await Promise.all([
      tabA.evaluate(() => app.results()),
      tabB.evaluate(() => app.results()),
    ])

    expect(service.refreshes).toBe(1)
    const all = new Set([...(tokensA ?? []), ...(tokensB ?? [])])
    expect(all.size).toBe(1)
    expect(all.has(before)).toBe(false)
    expect(await tabA.evaluate(() => app.ended)).toEqual([])
    expect(await tabB.evaluate(() => app.ended)).toEqual([])
    await context.close()
  }, 60_000)

  it('ends a session revoked elsewhere in both tabs, once each, with one refresh between them', async () => {
    const context = await browser.newContext()
    const [tabA, tabB] = [await context.newPage(), await context.newPage()]
    for (const tab of [tabA, tabB]) await tab.goto(service.baseUrl)
    const { sessionId } = await tabA.evaluate((user) => app.auth.login(user), { ...USER })
    await tabB.evaluate(() => app.auth.getAccessToken())
    const refreshesBefore = service.refreshes
    service.revokeSession(sessionId)
    await tabA.evaluate(() => app.expire())
    // localStorage reaches another tab's renderer asynchronously: tab B must see the expiry before the race,
    // or it serves its still-valid token from the stale copy (this flaked under CI load).
    await tabB.waitForFunction(
      () => JSON.parse(localStorage.getItem('africhain.session') ?? '{}').expiresAt < Date.now(),
      undefined,
      { timeout: 10_000 },
    )

    await tabA.evaluate(() => app.go())
    const results = await Promise.all([
      tabA.evaluate(() => app.results()),
      tabB.evaluate(() => app.results()),
    ])

    expect(service.refreshes - refreshesBefore).toBe(1)
    expect(results.flat()).toEqual(Array(10).fill('error:TOKEN_REVOKED'))
    expect(await tabA.evaluate(() => app.ended)).toEqual(['TOKEN_REVOKED'])
    expect(await tabB.evaluate(() => app.ended)).toEqual(['TOKEN_REVOKED'])
    expect(await tabB.evaluate(() => localStorage.getItem('africhain.session'))).not.toContain('refreshToken')
    await context.close()
  }, 60_000)
})
