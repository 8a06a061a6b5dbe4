import type { Session } from '@africhain/contract'
import { type Device, defaultPlatform, type ResolvedDevice, resolveDevice } from './device.ts'
import { type SessionEndedListener, SessionEvents } from './emitter.ts'
import { AuthError, AuthErrorCode } from './errors.ts'
import { callService, errorFromResponse, type FetchLike, peekErrorCode } from './http.ts'
import { defaultLockManager, type LockManagerLike } from './lock.ts'
import { originOf, parseOrigin } from './origin.ts'
import { isTokenPair, type LiveSession, recordFromPair, type TokenPair } from './session-record.ts'
import { memoryStorage, type TokenStorage } from './storage.ts'
import { TokenManager } from './token-manager.ts'

export type AuthClientOptions = {
  /** Token service origin (and path prefix, if any), e.g. `https://auth.africhain.example`. */
  baseUrl: string
  /** Sent at login. Without `id`, one is generated once and kept in `storage`. */
  device?: Device
  /** Default: in memory (lost on reload). See `localStorageAdapter`, `asyncStorageAdapter`. */
  storage?: TokenStorage
  /** Default: `globalThis.fetch`, looked up at call time. */
  fetch?: FetchLike
  /** Seconds before access-token expiry at which to refresh. Default 30. */
  refreshMargin?: number
  /** Key of the session record; the device id lives under `${storageKey}.device`. */
  storageKey?: string
  /** Cross-tab lock. Default `navigator.locks` where present; `null` disables it. */
  locks?: LockManagerLike | null
  /** Milliseconds before a call to the token service is aborted. Default 15000. */
  requestTimeout?: number
  /**
   * Origins besides baseUrl's that `auth.fetch` sends the access token to, e.g.
   * `['https://analytics.africhain.example']`. Exact origins (scheme, host, port); any other origin is
   * fetched without the token and never triggers a refresh.
   */
  allowedOrigins?: string[]
}

export type LoginInput = { identifier: string; password: string; rememberMe?: boolean }
export type SessionInfo = { userId: string; sessionId: string }

/** One entry of `GET /auth/sessions` (docs/api.md, "Shapes"): the API contract's type, not a copy. */
export type { Session }

export type AuthClient = {
  login(input: LoginInput): Promise<SessionInfo>
  /**
   * `fetch` with the bearer token attached when the request goes to baseUrl's origin or an
   * `allowedOrigins` entry (refreshing and retrying once on `401 TOKEN_EXPIRED`); plain `fetch` otherwise.
   */
  fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response>
  getAccessToken(): Promise<string>
  /** The stored session, without any network call; null when logged out. */
  getSession(): Promise<SessionInfo | null>
  sessions(): Promise<Session[]>
  revokeSession(sessionId: string): Promise<void>
  logout(): Promise<void>
  logoutAll(options?: { keepCurrent?: boolean }): Promise<{ revoked: number }>
  on(event: 'sessionEnded', listener: SessionEndedListener): () => void
}

export function createAuthClient(options: AuthClientOptions): AuthClient {
  if (typeof options?.baseUrl !== 'string') throw new TypeError('createAuthClient: baseUrl must be a string')
  const margin = options.refreshMargin ?? 30
  if (!Number.isFinite(margin) || margin < 0) {
    throw new TypeError('createAuthClient: refreshMargin must be a number of seconds ≥ 0')
  }
  const baseUrl = options.baseUrl.replace(/\/+$/, '')
  const baseOrigin = originOf(baseUrl)
  if (!baseOrigin) throw new TypeError('createAuthClient: baseUrl must be an http(s) URL')
  // The only origins the bearer token is ever sent to.
  const trusted = new Set([baseOrigin, ...(options.allowedOrigins ?? []).map(parseOrigin)])
  const isTrusted = (input: RequestInfo | URL) => trusted.has(originOf(urlOf(input)) ?? '')
  const storage = options.storage ?? memoryStorage()
  const storageKey = options.storageKey ?? 'africhain.session'
  const timeout = options.requestTimeout ?? 15_000
  const fetchImpl: FetchLike = options.fetch ?? ((input, init) => globalThis.fetch(input, init))
  const platform = options.device?.platform ?? defaultPlatform()
  const events = new SessionEvents()
  const call = (path: string, body: unknown): Promise<unknown> =>
    callService(fetchImpl, baseUrl, { method: 'POST', path, body }, timeout)

  const tokens = new TokenManager({
    storage,
    storageKey,
    locks: options.locks === null ? undefined : (options.locks ?? defaultLockManager()),
    refreshMarginMs: margin * 1000,
    // A busy device can take a while to show another tab's localStorage write; waiting is cheap, a second
    // refresh is harmless too (the service's grace window returns the same successor) but wasteful.
    storageSettleMs: 3_000,
    events,
    refresh: async (session) => {
      const device = { ...options.device, platform, id: session.deviceId }
      return expectPair(await call('/auth/refresh-token', { refreshToken: session.refreshToken, device }))
    },
  })

  let device: Promise<ResolvedDevice> | undefined
  const getDevice = (): Promise<ResolvedDevice> => {
    device ??= resolveDevice(options.device, storage, `${storageKey}.device`).catch((error: unknown) => {
      device = undefined
      throw error
    })
    return device
  }

  const send = (input: RequestInfo | URL, init: RequestInit | undefined, token: string) => {
    const headers = new Headers(init?.headers ?? (isRequest(input) ? input.headers : undefined))
    headers.set('authorization', `Bearer ${token}`)
    return fetchImpl(input, { ...init, headers })
  }

  const isTokenService = (input: RequestInfo | URL) => urlOf(input).startsWith(`${baseUrl}/`)

  /** A 401 TOKEN_REVOKED ends the session when the token service itself confirms it. */
  const checkRevoked = async (response: Response, input: RequestInfo | URL, session: LiveSession) => {
    if (response.status !== 401 || (await peekErrorCode(response)) !== AuthErrorCode.TOKEN_REVOKED) return
    if (!isTokenService(input) && !(await revokedAtService(session.accessToken))) return
    await tokens.end(session.sessionId, AuthErrorCode.TOKEN_REVOKED)
  }

  const revokedAtService = (token: string) =>
    callService(fetchImpl, baseUrl, { method: 'GET', path: '/auth/me', token }, timeout).then(
      () => false,
      (error: unknown) => error instanceof AuthError && error.code === AuthErrorCode.TOKEN_REVOKED,
    )

  const authFetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    // Another origin gets neither the token nor a refresh on our behalf: a plain fetch.
    if (!isTrusted(input)) return fetchImpl(input, init)
    // A Request body can be read once: keep an unread copy for the one retry.
    const replay = isRequest(input) ? input.clone() : input
    const session = await tokens.valid()
    const first = await send(input, init, session.accessToken)
    if (first.status !== 401) return first
    if ((await peekErrorCode(first)) !== AuthErrorCode.TOKEN_EXPIRED) {
      await checkRevoked(first, input, session)
      return first
    }
    await first.body?.cancel().catch(() => undefined) // frees the connection before the retry
    const fresh = await tokens.refresh(session.accessToken)
    const second = await send(replay, init, fresh.accessToken)
    await checkRevoked(second, replay, fresh)
    return second
  }

  /** A JSON call to a bearer-protected token-service route, through `authFetch`. */
  const serviceJson = async (method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> => {
    const init: RequestInit = { method, headers: { accept: 'application/json' } }
    if (body !== undefined) {
      init.headers = { accept: 'application/json', 'content-type': 'application/json' }
      init.body = JSON.stringify(body)
    }
    const response = await authFetch(baseUrl + path, init).catch((cause: unknown) => {
      if (cause instanceof AuthError) throw cause
      throw new AuthError(AuthErrorCode.NETWORK_ERROR, `${method} ${path} failed`, { cause })
    })
    if (!response.ok) throw await errorFromResponse(response, `${method} ${path}`)
    const text = await response.text()
    try {
      return text === '' ? undefined : JSON.parse(text)
    } catch {
      throw unexpected(`${method} ${path}`)
    }
  }

  const endLocally = async () => {
    const session = await tokens.load().catch(() => undefined)
    if (session) await tokens.end(session.sessionId, AuthErrorCode.LOGGED_OUT, false)
  }

  return {
    async login({ identifier, password, rememberMe }) {
      const resolved = await getDevice()
      const body = {
        identifier,
        password,
        device: resolved,
        ...(rememberMe === undefined ? {} : { rememberMe }),
      }
      const session = recordFromPair(expectPair(await call('/auth/login', body)), resolved.id, Date.now())
      await tokens.start(session)
      return { userId: session.userId, sessionId: session.sessionId }
    },

    fetch: authFetch,

    getAccessToken: async () => (await tokens.valid()).accessToken,

    getSession: () =>
      tokens.load().then(
        ({ userId, sessionId }) => ({ userId, sessionId }),
        (error: unknown) => {
          if (error instanceof AuthError) return null
          throw error
        },
      ),

    async sessions() {
      const body = (await serviceJson('GET', '/auth/sessions')) as { sessions?: unknown } | undefined
      if (!Array.isArray(body?.sessions)) throw unexpected('GET /auth/sessions')
      return body.sessions as Session[]
    },

    async revokeSession(sessionId) {
      await serviceJson('POST', '/auth/revoke-session', { sessionId })
      const current = await tokens.load().catch(() => undefined)
      if (current?.sessionId === sessionId) await tokens.end(sessionId, AuthErrorCode.LOGGED_OUT, false)
    },

    // The local session is always cleared; the promise rejects only if the service could not be
    // told (it then keeps the session until it expires). A 401 means it was already over.
    async logout() {
      try {
        await serviceJson('POST', '/auth/logout')
      } catch (error) {
        const alreadyOver =
          error instanceof AuthError &&
          (error.status === 401 || error.code === AuthErrorCode.NOT_AUTHENTICATED)
        if (!alreadyOver) throw error
      } finally {
        await endLocally()
      }
    },

    async logoutAll({ keepCurrent = false } = {}) {
      const body = (await serviceJson('POST', '/auth/logout-all', { keepCurrent })) as { revoked?: unknown }
      if (!keepCurrent) await endLocally()
      return { revoked: typeof body?.revoked === 'number' ? body.revoked : 0 }
    },

    on(event, listener) {
      if (event !== 'sessionEnded') throw new TypeError(`unknown event: ${String(event)}`)
      return events.on(listener)
    },
  }
}

function expectPair(body: unknown): TokenPair {
  if (!isTokenPair(body)) throw unexpected('token pair')
  return body
}

function unexpected(what: string): AuthError {
  return new AuthError(AuthErrorCode.UNEXPECTED_RESPONSE, `${what} does not have the documented shape`)
}

function isRequest(input: unknown): input is Request {
  return typeof Request !== 'undefined' && input instanceof Request
}

function urlOf(input: RequestInfo | URL): string {
  if (typeof input === 'string') return input
  if (isRequest(input)) return input.url
  return typeof (input as URL).href === 'string' ? (input as URL).href : String(input)
}
