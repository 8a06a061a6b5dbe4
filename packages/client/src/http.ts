import { AuthError, AuthErrorCode } from './errors.ts'

export type FetchLike = (input: RequestInfo | URL, init?: RequestInit) => Promise<Response>

export type ServiceCall = {
  method: 'GET' | 'POST'
  path: string
  body?: unknown
  /** Access token for bearer-protected routes. Sent only in the Authorization header. */
  token?: string
}

/**
 * One JSON call to the token service. Resolves with the parsed body (undefined for 204) or
 * rejects with an AuthError carrying the service's `code` and `status`. A call that takes longer
 * than `timeoutMs` is aborted, so a hung refresh can never hold the cross-tab lock forever.
 */
export async function callService(
  fetchImpl: FetchLike,
  baseUrl: string,
  call: ServiceCall,
  timeoutMs: number,
): Promise<unknown> {
  const headers: Record<string, string> = { accept: 'application/json' }
  if (call.body !== undefined) headers['content-type'] = 'application/json'
  if (call.token) headers['authorization'] = `Bearer ${call.token}`
  const controller = new AbortController()
  const timer = setTimeout(() => controller.abort(), timeoutMs)
  let response: Response
  try {
    response = await fetchImpl(baseUrl + call.path, {
      method: call.method,
      headers,
      body: call.body === undefined ? undefined : JSON.stringify(call.body),
      signal: controller.signal,
    })
  } catch (cause) {
    clearTimeout(timer)
    const what = controller.signal.aborted ? `timed out after ${timeoutMs} ms` : 'failed'
    throw new AuthError(AuthErrorCode.NETWORK_ERROR, `${call.method} ${call.path} ${what}`, { cause })
  }
  try {
    if (response.ok) return response.status === 204 ? undefined : await readJson(response)
    throw await errorFromResponse(response, `${call.method} ${call.path}`)
  } finally {
    clearTimeout(timer)
  }
}

/** Builds an AuthError from a non-2xx answer with the contract's `{ statusCode, code, message }` body. */
export async function errorFromResponse(response: Response, what: string): Promise<AuthError> {
  const body = (await readJson(response).catch(() => undefined)) as
    | { code?: unknown; message?: unknown }
    | undefined
  const code = typeof body?.code === 'string' ? body.code : AuthErrorCode.UNEXPECTED_RESPONSE
  const detail = typeof body?.message === 'string' ? body.message : `HTTP ${response.status}`
  const retryAfter = Number(response.headers.get('retry-after') ?? Number.NaN)
  return new AuthError(code, `${what}: ${detail}`, {
    status: response.status,
    retryAfter: Number.isFinite(retryAfter) ? retryAfter : undefined,
  })
}

/** The `code` of a 401 answer, read from a clone so the caller still gets an unread body. */
export async function peekErrorCode(response: Response): Promise<string | undefined> {
  try {
    const body = (await response.clone().json()) as { code?: unknown } | null
    return typeof body?.code === 'string' ? body.code : undefined
  } catch {
    return undefined
  }
}

async function readJson(response: Response): Promise<unknown> {
  const text = await response.text()
  if (text === '') return undefined
  try {
    return JSON.parse(text)
  } catch (cause) {
    throw new AuthError(AuthErrorCode.UNEXPECTED_RESPONSE, `HTTP ${response.status} with a non-JSON body`, {
      status: response.status,
      cause,
    })
  }
}
