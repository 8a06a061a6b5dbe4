import { CLIENT } from './oidc-client.ts'

const form = (o: Record<string, string>) => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams({ ...o, ...CLIENT }).toString(),
})
const json = (body: unknown, headers: Record<string, string> = {}) => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
})

/** N refreshes of one token at once: how many succeeded, and how many different tokens they returned. */
async function concurrent(
  n: number,
  send: () => Promise<Response>,
  next: (body: Record<string, string>) => string,
) {
  const answers = await Promise.all(Array.from({ length: n }, send))
  const ok = answers.filter((r) => r.status === 200)
  const tokens = new Set(await Promise.all(ok.map(async (r) => next(await r.json()))))
  await Promise.all(answers.filter((r) => r.status !== 200).map((r) => r.arrayBuffer()))
  return { ok: ok.length, distinct: tokens.size }
}

const forks = (c: { ok: number; distinct: number }) =>
  c.distinct > 1
    ? `FORKS: ${c.ok} succeeded with ${c.distinct} different refresh tokens`
    : `no fork (${c.ok} succeeded, ${c.distinct} token)`

export async function checkOurs(
  url: string,
  identifier: string,
  password: string,
  device: { id: string; platform: string },
) {
  const login = () => fetch(`${url}/auth/login`, json({ identifier, password, device })).then((r) => r.json())
  const a = await login()
  const auth = { authorization: `Bearer ${a.accessToken}` }
  const before = (await fetch(`${url}/auth/me`, { headers: auth })).status
  await fetch(`${url}/auth/logout`, { method: 'POST', headers: auth }).then((r) => r.arrayBuffer())
  const after = (await fetch(`${url}/auth/me`, { headers: auth })).status
  const b = await login()
  const c = await concurrent(
    10,
    () => fetch(`${url}/auth/refresh-token`, json({ refreshToken: b.refreshToken, device })),
    (body) => body.refreshToken ?? '',
  )
  return `ours: /auth/me ${before} before logout, ${after} after (revocation ${after === 401 ? 'honoured' : 'NOT honoured'}); 10 concurrent refreshes of one token: ${forks(c)}`
}

export async function checkOidc(url: string) {
  const g = await fetch(`${url}/bench/grant`, { method: 'POST' }).then((r) => r.json())
  const active = async () =>
    (await fetch(`${url}/token/introspection`, form({ token: g.accessToken })).then((r) => r.json())).active
  const before = await active()
  await fetch(`${url}/token/revocation`, form({ token: g.accessToken })).then((r) => r.arrayBuffer())
  const after = await active()
  // A fresh grant: the revocation above revoked the whole grant (the provider's default policy).
  const h = await fetch(`${url}/bench/grant`, { method: 'POST' }).then((r) => r.json())
  const c = await concurrent(
    10,
    () => fetch(`${url}/token`, form({ grant_type: 'refresh_token', refresh_token: h.refreshToken })),
    (body) => body.refresh_token ?? '',
  )
  return `oidc-provider: introspection active=${before} before revocation, active=${after} after (revocation ${after === false ? 'honoured' : 'NOT honoured'}); 10 concurrent refreshes of one token: ${forks(c)}`
}

export async function checkBetterAuth(url: string, email: string, password: string) {
  const origin = { origin: url }
  const signIn = await fetch(`${url}/api/auth/sign-in/email`, json({ email, password }, origin))
  const token = signIn.headers.get('set-auth-token') ?? ''
  const { token: sessionToken } = await signIn.json()
  const session = async () =>
    (await fetch(`${url}/api/auth/get-session`, { headers: { authorization: `Bearer ${token}` } }).then((r) =>
      r.json(),
    )) !== null
  const before = await session()
  await fetch(
    `${url}/api/auth/revoke-session`,
    json({ token: sessionToken }, { ...origin, authorization: `Bearer ${token}` }),
  ).then((r) => r.arrayBuffer())
  const after = await session()
  return `better-auth: get-session found the session=${before} before revoke-session, ${after} after (revocation ${after ? 'NOT honoured' : 'honoured'}); refresh: none to test (no refresh-token rotation in core: a session token is used until it expires)`
}
