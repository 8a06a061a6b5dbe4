import { mkdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { type Browser, chromium, type Page } from 'playwright-core'

export const CHROMIUM = '/usr/bin/chromium'
const SCREENSHOTS = fileURLToPath(new URL('../../test-results/screenshots/', import.meta.url))
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8')
export const WIDTHS = { desktop: { width: 1280, height: 900 }, phone: { width: 360, height: 780 } }

/** Chromium as the client SDK's browser test launches it. */
export function launch(): Promise<Browser> {
  return chromium.launch({
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
}

/** A page that records what the browser refused or failed: CSP violations, script errors, console errors. */
export async function openPage(browser: Browser): Promise<{ page: Page; problems: string[] }> {
  const context = await browser.newContext({ viewport: WIDTHS.desktop, acceptDownloads: true })
  const page = await context.newPage()
  const problems: string[] = []
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`))
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`)
  })
  return { page, problems }
}

/** Full-page screenshots at desktop (1280) and phone (360) width: test-results/screenshots/<name>-<width>.png. */
export async function screenshots(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true })
  for (const size of [WIDTHS.desktop, WIDTHS.phone]) {
    await page.setViewportSize(size)
    // Charts follow their box through a ResizeObserver: let one frame pass for the new width.
    await page.evaluate(
      () => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))),
    )
    await page.screenshot({ path: `${SCREENSHOTS}${name}-${size.width}.png`, fullPage: true })
  }
  await page.setViewportSize(WIDTHS.desktop)
}

export type AxeViolation = { id: string; impact: string | null; help: string; nodes: { target: string[] }[] }

/**
 * axe-core's serious and critical violations on the page, at both widths. The script is evaluated through the
 * DevTools protocol (the page's CSP, rightly, refuses any injected script tag).
 */
export async function seriousViolations(page: Page): Promise<string[]> {
  const found: string[] = []
  for (const size of [WIDTHS.desktop, WIDTHS.phone]) {
    await page.setViewportSize(size)
    await page.evaluate(AXE)
    type Axe = { run(context: Document, options: object): Promise<{ violations: AxeViolation[] }> }
    const violations = await page.evaluate(async () => {
      const axe = (globalThis as unknown as { axe: Axe }).axe
      return (await axe.run(document, { resultTypes: ['violations'] })).violations
    })
    for (const v of violations)
      if (v.impact === 'serious' || v.impact === 'critical')
        found.push(
          `${size.width}px ${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`,
        )
  }
  await page.setViewportSize(WIDTHS.desktop)
  return found
}
