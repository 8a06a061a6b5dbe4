import { useEffect, useMemo, useRef, useState } from 'preact/hooks'
import { EventTable } from '../components/timeline.tsx'
import { Page } from '../components/ui.tsx'
import { useConsole } from '../hooks.ts'
import { readSse } from '../sse.ts'
import type { SessionEvent } from '../types.ts'

const KEEP = 200
const KINDS = [
  'token.reuse_detected',
  'session.device_mismatch',
  'user.locked',
  'abuse.rate_limited',
  'login.failed',
  'risk.alert',
]
type Status = 'connecting' | 'live' | 'closed'

/**
 * Security events pushed by the analytics service as it ingests them (`/analytics/live`, server-sent events read
 * over fetch so the token stays in a header). Reconnects after a drop or an `end` event (with a fresh token: the
 * SDK refreshes it); a refused connection (401/403) stops it.
 */
export function LivePage() {
  const { api } = useConsole()
  const [events, setEvents] = useState<SessionEvent[]>([])
  const [status, setStatus] = useState<{ state: Status; detail?: string }>({ state: 'connecting' })
  const [type, setType] = useState('')
  const [text, setText] = useState('')
  const [missed, setMissed] = useState(0)
  const [names, setNames] = useState<ReadonlyMap<string, string>>(new Map())
  const asked = useRef(new Set<string>())
  // Who each new user id is, asked once per id.
  useEffect(() => {
    const ids = [...new Set(events.map((e) => e.userId).filter((id): id is string => !!id))]
    const fresh = ids.filter((id) => !asked.current.has(id))
    if (fresh.length === 0) return
    for (const id of fresh) asked.current.add(id)
    api
      .profiles(fresh)
      .then((found) =>
        setNames((known) => new Map([...known, ...[...found].map(([id, p]) => [id, p.identifier] as const)])),
      )
  }, [api, events])

  useEffect(() => {
    const abort = new AbortController()
    let retry = 500
    const connect = async (): Promise<void> => {
      setStatus({ state: 'connecting' })
      try {
        const response = await api.live(abort.signal, type || undefined)
        if (!response.ok) {
          const body = (await response.json().catch(() => ({}))) as { code?: string; message?: string }
          setStatus({
            state: 'closed',
            detail: `${response.status} ${body.code ?? ''} ${body.message ?? ''}`,
          })
          if (response.status === 401 || response.status === 403) return
        } else {
          setStatus({ state: 'live' })
          retry = 500
          let ended = 'the server closed the stream'
          await readSse(
            response,
            (m) => {
              const data = JSON.parse(m.data)
              if (m.event === 'end') ended = `the server ended it (${data.reason})`
              else if (m.event === 'dropped') setMissed((n) => n + Number(data.count))
              else if (data?.type) {
                const event = data as SessionEvent
                setEvents((list) =>
                  list.some((e) => e.id === event.id) ? list : [event, ...list].slice(0, KEEP),
                )
              }
            },
            abort.signal,
          )
          setStatus({ state: 'closed', detail: ended })
        }
      } catch (error) {
        if (abort.signal.aborted) return
        setStatus({ state: 'closed', detail: (error as Error).message })
      }
      if (abort.signal.aborted) return
      await new Promise((resolve) => setTimeout(resolve, retry))
      retry = Math.min(retry * 2, 15_000)
      if (!abort.signal.aborted) return connect()
    }
    connect()
    return () => abort.abort()
  }, [api, type])

  const shown = useMemo(() => {
    const needle = text.trim().toLowerCase()
    if (!needle) return events
    return events.filter((e) =>
      [e.userId, e.ip, e.type, e.userId ? names.get(e.userId) : undefined].some((v) =>
        v?.toLowerCase().includes(needle),
      ),
    )
  }, [events, text, names])

  return (
    <Page
      title="Live feed"
      actions={
        <span class={`live-state ${status.state}`} role="status">
          {status.state}
          {status.detail ? `: ${status.detail}` : ''}
        </span>
      }
    >
      <div class="filters">
        <label>
          Type
          <select value={type} onChange={(e) => setType(e.currentTarget.value)}>
            <option value="">every security event</option>
            {KINDS.map((k) => (
              <option key={k}>{k}</option>
            ))}
          </select>
        </label>
        <label>
          Filter
          <input
            type="search"
            value={text}
            placeholder="identifier, id, IP, type"
            onInput={(e) => setText(e.currentTarget.value)}
          />
        </label>
        <button type="button" onClick={() => setEvents([])}>
          Clear
        </button>
      </div>
      <p class="muted">
        {shown.length} of {events.length} events since this page opened (the latest {KEEP} are kept)
        {missed > 0 && `; ${missed} missed while this browser was behind`}.
      </p>
      <EventTable events={shown} showUser names={names} label="Live security events, newest first" />
    </Page>
  )
}
