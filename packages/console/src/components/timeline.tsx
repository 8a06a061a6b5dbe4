import { useState } from 'preact/hooks'
import type { EventFilter } from '../api.ts'
import { time } from '../format.ts'
import { useConsole, useLoad } from '../hooks.ts'
import { href } from '../router.ts'
import type { SessionEvent } from '../types.ts'
import { Async } from './ui.tsx'

export const EVENT_TYPES = [
  'user.registered',
  'session.created',
  'session.refreshed',
  'session.revoked',
  'user.locked',
  'user.unlocked',
  'user.disabled',
  'user.enabled',
  'user.password_changed',
  'abuse.rate_limited',
  'token.reuse_detected',
  'session.device_mismatch',
  'login.failed',
]
const ALARMING = new Set([
  'token.reuse_detected',
  'session.device_mismatch',
  'user.locked',
  'abuse.rate_limited',
  'risk.alert',
])

/** `datetime-local` (taken as UTC) → ISO-8601, or undefined when empty. */
const isoOf = (local: string) => (local ? new Date(`${local}:00Z`).toISOString() : undefined)

/** One line of what an event says beyond its type: reason, actor, device. */
export function eventDetail(e: SessionEvent): string {
  const d = e.data ?? {}
  const parts = [
    typeof d.reason === 'string' ? `reason ${d.reason}` : '',
    typeof d.score === 'number' ? `score ${d.score}` : '',
    typeof d.actorId === 'string' ? `by analyst ${d.actorId.slice(0, 8)}` : '',
    e.device?.platform ? `${e.device.platform}${e.device.name ? ` · ${e.device.name}` : ''}` : '',
  ]
  return parts.filter(Boolean).join(' · ')
}

/** Identifiers by user id, where the page knows them (shown instead of the bare id). */
export type Names = ReadonlyMap<string, string>

export function EventRow(props: { event: SessionEvent; showUser?: boolean; names?: Names }) {
  const e = props.event
  return (
    <tr class={ALARMING.has(e.type) ? 'alarm' : ''}>
      <td class="when">
        <time dateTime={e.occurredAt} title={time(e.occurredAt)}>
          {time(e.occurredAt).slice(5)}
        </time>
      </td>
      <td>
        <span class="type">{e.type}</span>
        <div class="detail">{eventDetail(e)}</div>
      </td>
      {props.showUser && (
        <td>
          {e.userId ? (
            <a href={href.user(e.userId)}>{props.names?.get(e.userId) ?? `${e.userId.slice(0, 8)}…`}</a>
          ) : (
            '—'
          )}
        </td>
      )}
      <td>{e.ip ? <a href={href.ip(e.ip)}>{e.ip}</a> : '—'}</td>
    </tr>
  )
}

export function EventTable(props: {
  events: SessionEvent[]
  showUser?: boolean
  names?: Names
  label: string
}) {
  if (props.events.length === 0) return <p class="muted">No events.</p>
  return (
    <div class="table-wrap">
      <table>
        <caption class="sr-only">{props.label}</caption>
        <thead>
          <tr>
            <th scope="col">Time (UTC)</th>
            <th scope="col">Event</th>
            {props.showUser && <th scope="col">User</th>}
            <th scope="col">IP</th>
          </tr>
        </thead>
        <tbody>
          {props.events.map((e) => (
            <EventRow key={e.id} event={e} showUser={props.showUser} names={props.names} />
          ))}
        </tbody>
      </table>
    </div>
  )
}

/** Events of a user or an IP, newest first, with type and time filters; refreshes every few seconds. */
export function Timeline(props: {
  filter: EventFilter
  showUser?: boolean
  names?: Names
  refreshKey?: number
}) {
  const { api } = useConsole()
  const [type, setType] = useState('')
  const [from, setFrom] = useState('')
  const [to, setTo] = useState('')
  const load = useLoad(
    () => api.events({ ...props.filter, type, from: isoOf(from), to: isoOf(to) }, 100),
    [api, JSON.stringify(props.filter), type, from, to, props.refreshKey],
    4_000,
  )
  return (
    <section class="card wide" aria-labelledby="timeline-title">
      <h2 id="timeline-title">Event timeline</h2>
      <div class="filters">
        <label>
          Type
          <select value={type} onChange={(e) => setType(e.currentTarget.value)}>
            <option value="">all types</option>
            {EVENT_TYPES.map((t) => (
              <option key={t}>{t}</option>
            ))}
          </select>
        </label>
        <label>
          From (UTC)
          <input type="datetime-local" value={from} onInput={(e) => setFrom(e.currentTarget.value)} />
        </label>
        <label>
          To (UTC)
          <input type="datetime-local" value={to} onInput={(e) => setTo(e.currentTarget.value)} />
        </label>
      </div>
      <Async value={load}>
        {(page) => (
          <EventTable
            events={page.events}
            showUser={props.showUser}
            names={props.names}
            label="Events, newest first"
          />
        )}
      </Async>
    </section>
  )
}
