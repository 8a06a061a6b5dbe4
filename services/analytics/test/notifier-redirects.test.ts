import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { newRiskAlert } from '@africhain/events'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { deliver } from '../src/notifier/deliver.ts'

// A webhook receiver (or whoever took over its DNS name) answering with a redirect to an internal address
// (a metadata service, an admin port on loopback) must not get the notifier to send the signed alert there.
let internal: Server
let redirecting: Server
let internalHits = 0
let internalUrl = ''
let redirectUrl = ''

const listen = async (server: Server) => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

beforeAll(async () => {
  internal = createServer((_req, res) => {
    internalHits++
    res.writeHead(200).end()
  })
  internalUrl = await listen(internal)
  redirecting = createServer((req, res) => {
    req.resume()
    res.writeHead(Number(req.url!.slice(1)), { location: `${internalUrl}/latest/meta-data` }).end()
  })
  redirectUrl = await listen(redirecting)
})
afterAll(async () => {
  await new Promise((r) => internal?.close(r))
  await new Promise((r) => redirecting?.close(r))
})

describe('webhook redirects', () => {
  it.each([301, 302, 303, 307, 308])('a %i is a failed delivery, never followed', async (status) => {
    const before = internalHits
    const failures: string[] = []
    const outcome = await deliver(
      { name: 'siem', format: 'json', url: `${redirectUrl}/${status}` },
      newRiskAlert('u-1', { score: 70, holderScore: 70, factors: [] }),
      {
        secret: 'whsec-test-0123456789abcdef0123456789',
        policy: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1, timeoutMs: 2000 },
        signal: new AbortController().signal,
        onAttemptFailed: (reason) => failures.push(reason),
      },
    )
    expect(outcome).toMatchObject({ ok: false, attempts: 2, reason: `HTTP ${status}` })
    expect(failures).toEqual([`HTTP ${status}`, `HTTP ${status}`])
    expect(internalHits).toBe(before)
  })
})
