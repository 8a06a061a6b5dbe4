import { request } from 'node:http'
import { sleep } from '@africhain/bus'

/**
 * The demo's HTTP client: JSON requests as a given client (its IP as X-Forwarded-For, its platform's
 * User-Agent), each simulated client from its own loopback source address where that can be bound, and a
 * 429 waited out for its Retry-After (see the header of demo.ts).
 */

export type Platform = 'android' | 'web' | 'ussd'
export type Device = { id: string; platform: Platform; name: string }
export type Pair = { accessToken: string; refreshToken: string; sessionId: string }
export type Reply = { status: number; body: Record<string, unknown> }

const USER_AGENTS: Record<Platform, string> = {
  android: 'AfriChain/1.4 (Android 14; Tecno Spark 20)',
  web: 'Mozilla/5.0 (Windows NT 10.0) Chrome/131.0',
  ussd: 'ussd-gateway/2.1 (Safaricom)',
}

/** One loopback source address per simulated client IP, while binding them works (see the header). */
const sources = new Map<string, string>()
let spreadClients = true
function sourceFor(base: string, ip: string | undefined): string | undefined {
  const { protocol, hostname } = new URL(base)
  if (!spreadClients || !ip || protocol !== 'http:' || !/^(127\.0\.0\.1|localhost)$/.test(hostname)) return
  if (!sources.has(ip)) sources.set(ip, `127.0.0.${2 + (sources.size % 250)}`)
  return sources.get(ip)
}

type Raw = { status: number; retryAfter: string | undefined; text: string }

/** An HTTP request from `localAddress`; undefined when that address cannot be bound here. */
function send(
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string },
  localAddress: string,
): Promise<Raw | undefined> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: init.method, headers: init.headers, localAddress }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        text += chunk
      })
      res.on('end', () => {
        const retryAfter = res.headers['retry-after']
        resolve({ status: res.statusCode ?? 0, retryAfter, text })
      })
      res.on('error', reject)
    })
    req.on('error', (err: NodeJS.ErrnoException) =>
      err.code === 'EADDRNOTAVAIL' || err.code === 'EINVAL' ? resolve(undefined) : reject(err),
    )
    req.end(init.body)
  })
}

async function fetchRaw(
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string },
  localAddress: string | undefined,
): Promise<Raw> {
  if (localAddress) {
    const raw = await send(url, init, localAddress)
    if (raw) return raw
    spreadClients = false
  }
  const res = await fetch(url, init)
  return {
    status: res.status,
    retryAfter: res.headers.get('retry-after') ?? undefined,
    text: await res.text(),
  }
}

export async function call(
  base: string,
  method: string,
  path: string,
  opts: { body?: unknown; token?: string; ip?: string; platform?: Platform; waitOnLimit?: boolean } = {},
): Promise<Reply> {
  for (;;) {
    const res = await fetchRaw(
      `${base}${path}`,
      {
        method,
        headers: {
          ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
          ...(opts.ip ? { 'x-forwarded-for': opts.ip } : {}),
          'user-agent': USER_AGENTS[opts.platform ?? 'web'],
        },
        ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
      },
      sourceFor(base, opts.ip),
    )
    const body = res.text ? (JSON.parse(res.text) as Record<string, unknown>) : {}
    // Limits are per client address: wait out a 429 for as long as the server says, instead of failing.
    if (res.status === 429 && body.code === 'RATE_LIMITED' && opts.waitOnLimit !== false) {
      const wait = Number(res.retryAfter ?? '5')
      console.log(`   … rate limited on ${path}, waiting ${wait}s (Retry-After)`)
      await sleep(wait * 1000 + 200)
      continue
    }
    return { status: res.status, body }
  }
}

/** Exits with a hint unless every service answers its readiness probe. */
export async function checkUp(services: readonly (readonly [name: string, base: string])[]): Promise<void> {
  for (const [name, base] of services) {
    const ok = await fetch(`${base}/health/ready`).then(
      (r) => r.ok,
      () => false,
    )
    if (!ok) {
      console.error(`${name} is not ready at ${base}. Start the system first: pnpm start`)
      process.exit(1)
    }
  }
}
