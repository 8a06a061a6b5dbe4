import { describe, expect, it } from 'vitest'
import { type TestApp, useTestApp } from './helpers/app.ts'

// docs/api.md: "A client is its IPv4 address or its IPv6 /64." An IPv6 subscriber picks any of 2^64 addresses,
// so the limit must count the /64; an IPv4 client seen through a dual-stack socket is still that IPv4 client.

// On the socket, behind a trusted proxy, and with a wider IPv6 prefix: three deployments.
const apps = [
  useTestApp('rl-ipv6', { env: { RATE_LIMIT_LOGIN: '3/1m' } }).app,
  useTestApp('rl-ipv6-proxy', { env: { RATE_LIMIT_LOGIN: '3/1m', TRUST_PROXY: 'loopback' } }).app,
  useTestApp('rl-ipv6-48', { env: { RATE_LIMIT_LOGIN: '3/1m', RATE_LIMIT_IPV6_PREFIX: '48' } }).app,
]

// A fresh unknown identifier each time: the per-account lockout must not be what answers 429 here.
let n = 0
const body = () => ({
  identifier: `nobody.${n++}@example.com`,
  password: 'wrong password',
  device: { platform: 'web' },
})

type Via = 'socket' | 'x-forwarded-for'
function attempt(app: TestApp, ip: string, via: Via) {
  return app.inject({
    method: 'POST',
    url: '/auth/login',
    payload: body(),
    ...(via === 'socket'
      ? { remoteAddress: ip }
      : { remoteAddress: '127.0.0.1', headers: { 'x-forwarded-for': ip } }),
  })
}

async function exhaust(app: TestApp, ips: string[], via: Via) {
  const codes = []
  for (const ip of ips) codes.push((await attempt(app, ip, via)).json().code)
  return codes
}

describe.each([
  ['on the socket', 0, 'socket'],
  ['behind a trusted proxy (X-Forwarded-For)', 1, 'x-forwarded-for'],
] as const)('rate limits per IPv6 /64 %s', (_name, index, via) => {
  const app = () => apps[index]!

  it('gives every address of one /64 one shared budget', async () => {
    const net = index === 0 ? '2001:db8:a:1' : '2001:db8:b:1'
    const codes = await exhaust(app(), [`${net}::1`, `${net}::2`, `${net}:ffff:ffff:ffff:ffff`], via)
    expect(codes).toEqual(['INVALID_CREDENTIALS', 'INVALID_CREDENTIALS', 'INVALID_CREDENTIALS'])
    const limited = await attempt(app(), `${net}:1234:5678:9abc:def0`, via)
    expect(limited.statusCode).toBe(429)
    expect(limited.json().code).toBe('RATE_LIMITED')
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0)
    // The next /64 over is another client.
    const next = index === 0 ? '2001:db8:a:2' : '2001:db8:b:2'
    expect((await attempt(app(), `${next}::1`, via)).json().code).toBe('INVALID_CREDENTIALS')
  })

  it('counts an IPv4-mapped IPv6 address as its IPv4 address', async () => {
    const v4 = index === 0 ? '198.51.100.41' : '198.51.100.42'
    const codes = await exhaust(app(), [v4, `::ffff:${v4}`, v4], via)
    expect(codes).toEqual(['INVALID_CREDENTIALS', 'INVALID_CREDENTIALS', 'INVALID_CREDENTIALS'])
    expect((await attempt(app(), `::ffff:${v4}`, via)).json().code).toBe('RATE_LIMITED')
  })
})

describe('RATE_LIMIT_IPV6_PREFIX', () => {
  it('widens the network that counts as one client', async () => {
    const app = apps[2]!
    const codes = await exhaust(app, ['2001:db8:c:1::1', '2001:db8:c:2::1', '2001:db8:c:ff::1'], 'socket')
    expect(codes).toEqual(['INVALID_CREDENTIALS', 'INVALID_CREDENTIALS', 'INVALID_CREDENTIALS'])
    expect((await attempt(app, '2001:db8:c:abcd::1', 'socket')).json().code).toBe('RATE_LIMITED')
    expect((await attempt(app, '2001:db8:d:1::1', 'socket')).json().code).toBe('INVALID_CREDENTIALS')
  })
})
