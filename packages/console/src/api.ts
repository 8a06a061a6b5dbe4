import type { AuthClient } from '@africhain/client'
import type {
  DailyReport,
  EventPage,
  IpSummary,
  Me,
  PipelineHealth,
  RiskAssessment,
  SessionAnalytics,
  UserDetail,
  UserProfile,
} from './types.ts'

/** An error answer of either service, with its stable `code` (docs/api.md, "Errors"). */
export class ApiError extends Error {
  readonly status: number
  readonly code: string
  constructor(status: number, code: string, message: string) {
    super(message)
    this.status = status
    this.code = code
  }
}

export type EventFilter = { userId?: string; ip?: string; type?: string; from?: string; to?: string }

function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v))
  const s = q.toString()
  return s ? `?${s}` : ''
}

/** Reads one figure of a Prometheus text exposition (the first sample of `name`). */
function gauge(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`))
  const value = line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : Number.NaN
  return Number.isFinite(value) ? value : undefined
}

/** Every call the console makes. Analytics is this origin; the token service is `tokenUrl` (CORS). */
export function createApi(auth: AuthClient, tokenUrl: string) {
  const token = (path: string) => new URL(path, tokenUrl).href
  async function call<T>(url: string, init?: RequestInit): Promise<T> {
    const response = await auth.fetch(url, init)
    if (!response.ok) {
      const body = (await response.json().catch(() => ({}))) as { code?: string; message?: string }
      throw new ApiError(response.status, body.code ?? `HTTP_${response.status}`, body.message ?? '')
    }
    return (response.status === 204 ? undefined : await response.json()) as T
  }
  const post = <T = void>(url: string) => call<T>(url, { method: 'POST' })
  const enc = encodeURIComponent

  const user = (userId: string) => call<UserDetail>(token(`/auth/admin/users/${enc(userId)}`))

  return {
    me: () => call<Me>(token('/auth/me')),
    overview: () => call<SessionAnalytics>('/analytics'),
    flagged: (limit = 100) =>
      call<{ users: RiskAssessment[] }>(`/analytics/security/flagged${query({ limit })}`),
    risk: (userId: string) => call<RiskAssessment>(`/analytics/security${query({ userId })}`),
    events: (filter: EventFilter, limit = 100, cursor?: string) =>
      call<EventPage>(`/analytics/events${query({ ...filter, limit, cursor })}`),
    ip: (ip: string) => call<IpSummary>(`/analytics/ips/${enc(ip)}`),
    /** The live feed's response (text/event-stream), read with readSse; `type` narrows it on the server. */
    live: (signal: AbortSignal, type?: string) =>
      auth.fetch(`/analytics/live${query({ type })}`, { signal, headers: { accept: 'text/event-stream' } }),
    report: (date?: string) => call<DailyReport>(`/analytics/report${query({ date })}`),
    async pipeline(): Promise<PipelineHealth> {
      const text = await fetch('/metrics').then((r) => (r.ok ? r.text() : ''))
      return {
        lag: gauge(text, 'analytics_consumer_lag'),
        lagSeconds: gauge(text, 'analytics_consumer_lag_seconds'),
        pending: gauge(text, 'analytics_consumer_pending'),
        deadLetters: gauge(text, 'analytics_dead_letters'),
      }
    },
    findUser: (identifier: string) =>
      call<{ users: UserProfile[] }>(token(`/auth/admin/users${query({ identifier })}`)),
    user,
    /** Who each id is (identifier, name), for lists that only carry ids; an id that fails is left out. */
    async profiles(userIds: string[]): Promise<Map<string, UserProfile>> {
      const found = await Promise.all([...new Set(userIds)].map((id) => user(id).catch(() => undefined)))
      return new Map(found.filter((p) => p !== undefined).map((p) => [p.userId, p]))
    },
    revokeSession: (sessionId: string) => post(token(`/auth/admin/sessions/${enc(sessionId)}/revoke`)),
    revokeAll: (userId: string) =>
      post<{ revoked: number }>(token(`/auth/admin/users/${enc(userId)}/revoke-sessions`)),
    unlock: (userId: string) => post(token(`/auth/admin/users/${enc(userId)}/unlock`)),
  }
}

export type Api = ReturnType<typeof createApi>
