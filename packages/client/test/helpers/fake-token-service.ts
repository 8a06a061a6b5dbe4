import { randomBytes, randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * A test double of the token service's HTTP contract (docs/api.md): just enough to exercise the SDK —
 * login, rotation with a reuse grace window, reuse detection, revocation, device binding, and the
 * error bodies. Not a model of the real service's storage; the real one is in services/token.
 */
export type FakeTokenServiceOptions = {
  accessTtlMs?: number
  graceMs?: number
  /** Delay before answering a refresh, so concurrent callers really overlap. */
  refreshDelayMs?: number
  /** Extra routes (page, resource endpoints); return true when handled. */
  extraRoutes?: (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>
}

export const USER = { identifier: 'amina@example.com', password: 'correct horse battery' } as const

type FakeSession = {
  id: string
  userId: string
  deviceId: string
  platform: string
  revoked: boolean
  current: string
  previous: { token: string; rotatedAt: number } | undefined
  retired: Set<string>
}

export type RecordedRequest = { method: string; url: string; authorization: string | undefined; body: string }

export class FakeTokenService {
  baseUrl = ''
  readonly requests: RecordedRequest[] = []
  readonly sessions = new Map<string, FakeSession>()
  #options: Required<Omit<FakeTokenServiceOptions, 'extraRoutes'>> & FakeTokenServiceOptions
  #access = new Map<string, { sid: string; exp: number }>()
  #failNextRefresh: { status: number; code: string; headers?: Record<string, string> } | undefined
  #server = createServer((req, res) => {
    this.#handle(req, res).catch((error: unknown) =>
      send(res, 500, { code: 'INTERNAL', message: String(error) }),
    )
  })

  constructor(options: FakeTokenServiceOptions = {}) {
    this.#options = { accessTtlMs: 60_000, graceMs: 10_000, refreshDelayMs: 25, ...options }
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve))
    this.baseUrl = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`
    return this
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections()
    await new Promise<void>((resolve, reject) => this.#server.close((e) => (e ? reject(e) : resolve())))
  }

  count(method: string, path: string): number {
    return this.requests.filter((r) => r.method === method && r.url === path).length
  }

  get refreshes(): number {
    return this.count('POST', '/auth/refresh-token')
  }

  /** Every access token issued so far now answers 401 TOKEN_EXPIRED (the client does not know). */
  expireAccessTokens(): void {
    for (const entry of this.#access.values()) entry.exp = Date.now() - 1
  }

  /** Revocation from elsewhere (another device, an admin). */
  revokeSession(sessionId: string): void {
    const session = this.sessions.get(sessionId)
    if (session) session.revoked = true
  }

  failNextRefresh(status: number, code: string, headers?: Record<string, string>): void {
    this.#failNextRefresh = headers ? { status, code, headers } : { status, code }
  }

  setGrace(ms: number): void {
    this.#options.graceMs = ms
  }

  async #handle(req: IncomingMessage, res: ServerResponse) {
    const body = await readBody(req)
    const url = req.url ?? '/'
    this.requests.push({ method: req.method ?? '', url, authorization: req.headers.authorization, body })
    if (this.#options.extraRoutes && (await this.#options.extraRoutes(req, res))) return
    const json = body ? (JSON.parse(body) as Record<string, unknown>) : {}
    const route = `${req.method} ${url}`
    if (route === 'POST /auth/login') return this.#login(res, json)
    if (route === 'POST /auth/refresh-token') return this.#refresh(res, json)
    const session = this.#authenticate(req, res)
    if (!session) return
    if (route === 'GET /auth/me') return send(res, 200, { userId: session.userId, sessionId: session.id })
    if (route === 'GET /api/echo') return send(res, 200, { userId: session.userId, body })
    if (route === 'GET /auth/sessions') return send(res, 200, { sessions: this.#list(session) })
    if (route === 'POST /auth/logout') {
      session.revoked = true
      return send(res, 204)
    }
    if (route === 'POST /auth/revoke-session') {
      const target = this.sessions.get(String(json['sessionId']))
      if (!target || target.userId !== session.userId || target.revoked)
        return error(res, 404, 'SESSION_NOT_FOUND')
      target.revoked = true
      return send(res, 204)
    }
    if (route === 'POST /auth/logout-all') {
      let revoked = 0
      for (const s of this.sessions.values()) {
        if (s.userId !== session.userId || s.revoked || (json['keepCurrent'] && s.id === session.id)) continue
        s.revoked = true
        revoked++
      }
      return send(res, 200, { revoked })
    }
    error(res, 404, 'NOT_FOUND')
  }

  #login(res: ServerResponse, body: Record<string, unknown>) {
    const device = body['device'] as { id?: string; platform?: string } | undefined
    if (!device?.platform) return error(res, 400, 'VALIDATION_FAILED')
    if (body['identifier'] !== USER.identifier || body['password'] !== USER.password) {
      return error(res, 401, 'INVALID_CREDENTIALS')
    }
    const session: FakeSession = {
      id: randomUUID(),
      userId: 'user-1',
      deviceId: device.id ?? randomUUID(),
      platform: device.platform,
      revoked: false,
      current: opaque(),
      previous: undefined,
      retired: new Set(),
    }
    this.sessions.set(session.id, session)
    send(res, 200, this.#pair(session))
  }

  async #refresh(res: ServerResponse, body: Record<string, unknown>) {
    await new Promise((r) => setTimeout(r, this.#options.refreshDelayMs))
    const failure = this.#failNextRefresh
    this.#failNextRefresh = undefined
    if (failure) return error(res, failure.status, failure.code, failure.headers)
    const token = body['refreshToken']
    const session = [...this.sessions.values()].find(
      (s) => s.current === token || s.previous?.token === token || s.retired.has(String(token)),
    )
    if (!session) return error(res, 401, 'TOKEN_INVALID')
    if (session.revoked) return error(res, 401, 'TOKEN_REVOKED')
    const deviceId = (body['device'] as { id?: string } | undefined)?.id
    if (deviceId !== undefined && deviceId !== session.deviceId) return error(res, 401, 'DEVICE_MISMATCH')
    if (session.current === token) {
      if (session.previous) session.retired.add(session.previous.token)
      session.previous = { token, rotatedAt: Date.now() }
      session.current = opaque()
      return send(res, 200, this.#pair(session))
    }
    const previous = session.previous
    const withinGrace =
      previous !== undefined &&
      previous.token === token &&
      Date.now() - previous.rotatedAt <= this.#options.graceMs
    if (withinGrace) return send(res, 200, this.#pair(session))
    session.revoked = true
    error(res, 401, 'TOKEN_REUSED')
  }

  #authenticate(req: IncomingMessage, res: ServerResponse): FakeSession | undefined {
    const header = req.headers.authorization
    if (!header?.startsWith('Bearer ')) return void error(res, 401, 'TOKEN_MISSING')
    const entry = this.#access.get(header.slice(7))
    const session = entry && this.sessions.get(entry.sid)
    if (!entry || !session) return void error(res, 401, 'TOKEN_INVALID')
    if (session.revoked) return void error(res, 401, 'TOKEN_REVOKED')
    if (entry.exp <= Date.now()) return void error(res, 401, 'TOKEN_EXPIRED')
    return session
  }

  #pair(session: FakeSession) {
    const exp = Date.now() + this.#options.accessTtlMs
    const claims = { sub: session.userId, sid: session.id, exp: Math.ceil(exp / 1000), jti: randomUUID() }
    const accessToken = [{ alg: 'EdDSA', typ: 'at+jwt' }, claims, 'signature']
      .map((part) => Buffer.from(JSON.stringify(part)).toString('base64url'))
      .join('.')
    this.#access.set(accessToken, { sid: session.id, exp })
    return {
      accessToken,
      refreshToken: session.current,
      tokenType: 'Bearer',
      expiresIn: this.#options.accessTtlMs / 1000,
      refreshExpiresIn: 604_800,
      sessionId: session.id,
    }
  }

  #list(current: FakeSession) {
    return [...this.sessions.values()]
      .filter((s) => s.userId === current.userId && !s.revoked)
      .map((s) => ({
        sessionId: s.id,
        current: s.id === current.id,
        device: { id: s.deviceId, platform: s.platform },
        ip: '127.0.0.1',
        createdAt: new Date().toISOString(),
        lastActiveAt: new Date().toISOString(),
        expiresAt: new Date(Date.now() + 604_800_000).toISOString(),
      }))
  }
}

export async function startFakeTokenService(options?: FakeTokenServiceOptions): Promise<FakeTokenService> {
  return new FakeTokenService(options).listen()
}

function opaque(): string {
  return randomBytes(32).toString('base64url')
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = ''
    req.setEncoding('utf8')
    req.on('data', (chunk: string) => {
      data += chunk
    })
    req.on('end', () => resolve(data))
    req.on('error', reject)
  })
}

export function send(res: ServerResponse, status: number, body?: unknown, headers?: Record<string, string>) {
  res.writeHead(status, { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers })
  res.end(body === undefined ? undefined : JSON.stringify(body))
}

export function error(res: ServerResponse, status: number, code: string, headers?: Record<string, string>) {
  const extra = status === 401 ? { 'www-authenticate': 'Bearer error="invalid_token"', ...headers } : headers
  send(res, status, { statusCode: status, code, error: 'Error', message: `fake: ${code}` }, extra)
}
