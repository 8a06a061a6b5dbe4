import type { Session } from '@africhain/contract'
import { authorizedFetch } from './authorized-fetch.ts'
import { type Device, defaultPlatform, type ResolvedDevice, resolveDevice } from './device.ts'
import { type SessionEndedListener, SessionEvents } from './emitter.ts'
import { AuthError, AuthErrorCode } from './errors.ts'
import { callService, errorFromResponse, type FetchLike } from './http.ts'
import { defaultLockManager, type LockManagerLike } from './lock.ts'
import { isTokenPair, recordFromPair, type TokenPair } from './session-record.ts'
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

  const authFetch = authorizedFetch({
    fetchImpl,
    baseUrl,
    allowedOrigins: options.allowedOrigins ?? [],
    timeout,
    tokens,
  })

  let device: Promise<ResolvedDevice> | undefined
  const getDevice = (): Promise<ResolvedDevice> => {
    device ??= resolveDevice(options.device, storage, `${storageKey}.device`).catch((error: unknown) => {
      device = undefined
      throw error
    })
    return device
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
