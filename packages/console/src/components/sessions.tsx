import { ago, time } from '../format.ts'
import { useConsole } from '../hooks.ts'
import { href } from '../router.ts'
import type { AdminSession } from '../types.ts'
import { ConfirmButton } from './ui.tsx'

/** A user's live sessions, each with "revoke this session"; `onChange` reloads the page's data. */
export function SessionList(props: { sessions: AdminSession[]; who: string; onChange(): void }) {
  const { api } = useConsole()
  if (props.sessions.length === 0) return <p class="muted">No live session.</p>
  return (
    <ul class="sessions">
      {props.sessions.map((s) => (
        <li key={s.sessionId} class="session">
          <div>
            <b>{s.device.name || s.device.platform || 'unknown device'}</b>{' '}
            <span class="muted">{s.device.platform}</span>
            {s.current && <span class="chip">this console</span>}
          </div>
          <div class="muted small-text">{s.device.userAgent ?? 'no user agent'}</div>
          <dl class="facts">
            <dt>IP</dt>
            <dd>{s.ip ? <a href={href.ip(s.ip)}>{s.ip}</a> : '—'}</dd>
            <dt>Created</dt>
            <dd>{time(s.createdAt)}</dd>
            <dt>Last active</dt>
            <dd title={time(s.lastActiveAt)}>{ago(s.lastActiveAt)}</dd>
          </dl>
          <ConfirmButton
            label="Revoke this session"
            question={`Revoke ${props.who}'s session on ${s.device.name || s.device.platform || 'this device'} (${s.ip})? Its tokens stop working on the next request.`}
            confirmLabel="Revoke session"
            danger
            action={async () => {
              await api.revokeSession(s.sessionId)
              props.onChange()
              return `Revoked the session ${s.sessionId.slice(0, 8)}… of ${props.who}.`
            }}
          />
        </li>
      ))}
    </ul>
  )
}
