import { AuthError, AuthErrorCode } from './errors.ts'
import { callService, type FetchLike, peekErrorCode } from './http.ts'
import { originOf, parseOrigin } from './origin.ts'
import type { LiveSession } from './session-record.ts'
import type { TokenManager } from './token-manager.ts'

export type AuthorizedFetchOptions = {
  fetchImpl: FetchLike
  /** The token service's base URL, without a trailing slash. */
  baseUrl: string
  /** Origins besides baseUrl's that get the token (`allowedOrigins`). */
  allowedOrigins: readonly string[]
  timeout: number
  tokens: TokenManager
}

/**
 * `auth.fetch`: the bearer token goes only to baseUrl's origin and the allowed ones; a `401 TOKEN_EXPIRED`
 * refreshes and retries once; a `401 TOKEN_REVOKED` ends the stored session when the token service confirms it.
 */
export function authorizedFetch(o: AuthorizedFetchOptions) {
  const { fetchImpl, baseUrl, timeout, tokens } = o
  const baseOrigin = originOf(baseUrl)
  if (!baseOrigin) throw new TypeError('createAuthClient: baseUrl must be an http(s) URL')
  // The only origins the bearer token is ever sent to.
  const trusted = new Set([baseOrigin, ...o.allowedOrigins.map(parseOrigin)])
  const isTrusted = (input: RequestInfo | URL) => trusted.has(originOf(urlOf(input)) ?? '')
  const isTokenService = (input: RequestInfo | URL) => urlOf(input).startsWith(`${baseUrl}/`)

  const send = (input: RequestInfo | URL, init: RequestInit | undefined, token: string) => {
    const headers = new Headers(init?.headers ?? (isRequest(input) ? input.headers : undefined))
    headers.set('authorization', `Bearer ${token}`)
    return fetchImpl(input, { ...init, headers })
  }

  const revokedAtService = (token: string) =>
    callService(fetchImpl, baseUrl, { method: 'GET', path: '/auth/me', token }, timeout).then(
      () => false,
      (error: unknown) => error instanceof AuthError && error.code === AuthErrorCode.TOKEN_REVOKED,
    )

  /** A 401 TOKEN_REVOKED ends the session when the token service itself confirms it. */
  const checkRevoked = async (response: Response, input: RequestInfo | URL, session: LiveSession) => {
    if (response.status !== 401 || (await peekErrorCode(response)) !== AuthErrorCode.TOKEN_REVOKED) return
    if (!isTokenService(input) && !(await revokedAtService(session.accessToken))) return
    await tokens.end(session.sessionId, AuthErrorCode.TOKEN_REVOKED)
  }

  return async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
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
}

function isRequest(input: unknown): input is Request {
  return typeof Request !== 'undefined' && input instanceof Request
}

function urlOf(input: RequestInfo | URL): string {
  if (typeof input === 'string') return input
  if (isRequest(input)) return input.url
  return typeof (input as URL).href === 'string' ? (input as URL).href : String(input)
}
