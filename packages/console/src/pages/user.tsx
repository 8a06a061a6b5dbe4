import { useState } from 'preact/hooks'
import { SessionList } from '../components/sessions.tsx'
import { Timeline } from '../components/timeline.tsx'
import { Async, Chips, ConfirmButton, Page, Score } from '../components/ui.tsx'
import { time } from '../format.ts'
import { useConsole, useLoad } from '../hooks.ts'
import { href } from '../router.ts'
import type { SessionEvent, UserDetail } from '../types.ts'

/** The IPs and devices seen in a user's recent events, most recent first. */
function seen(events: SessionEvent[]) {
  const ips = new Map<string, string>()
  const devices = new Map<string, string>()
  for (const e of events) {
    if (e.ip && !ips.has(e.ip)) ips.set(e.ip, e.occurredAt)
    const id = e.device?.id
    if (id && !devices.has(id)) devices.set(id, `${e.device?.platform ?? ''} ${e.device?.name ?? ''}`.trim())
  }
  return { ips: [...ips], devices: [...devices] }
}

/** One user: who, how risky, live sessions (revoke one or all), unlock, and everything that happened. */
export function UserPage(props: { userId: string }) {
  const { api } = useConsole()
  const [actions, setActions] = useState(0)
  const acted = () => setActions((n) => n + 1)
  const load = useLoad(
    async () => {
      const [user, risk, recent] = await Promise.all([
        api.user(props.userId),
        api.risk(props.userId),
        api.events({ userId: props.userId }, 500),
      ])
      return { user, risk, seen: seen(recent.events) }
    },
    [api, props.userId, actions],
    10_000,
  )
  const title = load.data?.user.identifier ?? 'User'
  return (
    <Page title={title}>
      <Async value={load}>
        {({ user, risk, seen }) => (
          <div class="grid">
            <Profile user={user} onChange={acted} />
            <section class="card" aria-labelledby="risk-title">
              <h2 id="risk-title">
                Risk <Score value={risk.riskScore} />{' '}
                {risk.suspicious && <span class="chip alarm">suspicious</span>}
              </h2>
              <Chips factors={risk.factors} />
              <h3>Recommendations</h3>
              {risk.recommendations.length === 0 ? (
                <p class="muted">None.</p>
              ) : (
                <ul>
                  {risk.recommendations.map((r) => (
                    <li key={r}>{r}</li>
                  ))}
                </ul>
              )}
              <p class="muted">Evaluated {time(risk.evaluatedAt)} UTC</p>
            </section>
            <section class="card wide" aria-labelledby="sessions-title">
              <div class="row spread">
                <h2 id="sessions-title">Live sessions ({user.sessions.length})</h2>
                <ConfirmButton
                  label="Revoke all sessions"
                  question={`Revoke every session of ${user.identifier}? They are signed out everywhere at their next request.`}
                  confirmLabel="Revoke all"
                  danger
                  disabled={user.sessions.length === 0}
                  action={async () => {
                    const { revoked } = await api.revokeAll(user.userId)
                    acted()
                    return `Revoked ${revoked} session${revoked === 1 ? '' : 's'} of ${user.identifier}.`
                  }}
                />
              </div>
              <SessionList sessions={user.sessions} who={user.identifier} onChange={acted} />
            </section>
            <section class="card" aria-labelledby="seen-title">
              <h2 id="seen-title">IPs and devices seen</h2>
              <h3>IPs</h3>
              <ul class="plain">
                {seen.ips.map(([ip, at]) => (
                  <li key={ip}>
                    <a href={href.ip(ip)}>{ip}</a> <span class="muted">last {time(at)}</span>
                  </li>
                ))}
              </ul>
              <h3>Devices</h3>
              <ul class="plain">
                {seen.devices.map(([id, label]) => (
                  <li key={id}>
                    {label || 'unnamed'} <code>{id.slice(0, 12)}</code>
                  </li>
                ))}
              </ul>
            </section>
          </div>
        )}
      </Async>
      <Timeline filter={{ userId: props.userId }} refreshKey={actions} />
    </Page>
  )
}

function Profile(props: { user: UserDetail; onChange(): void }) {
  const { api } = useConsole()
  const { user } = props
  return (
    <section class="card" aria-labelledby="profile-title">
      <h2 id="profile-title">Profile</h2>
      <dl class="facts">
        <dt>Identifier</dt>
        <dd>{user.identifier}</dd>
        <dt>Name</dt>
        <dd>{user.displayName ?? '—'}</dd>
        <dt>User id</dt>
        <dd>
          <code>{user.userId}</code>
        </dd>
        <dt>Roles</dt>
        <dd>{user.roles.join(', ')}</dd>
        <dt>Created</dt>
        <dd>{time(user.createdAt)}</dd>
        <dt>Login</dt>
        <dd>
          {user.locked ? <span class="chip alarm">locked</span> : 'not locked'}
          {user.disabled && <span class="chip alarm">disabled</span>}
        </dd>
      </dl>
      <ConfirmButton
        label="Unlock login"
        question={`Lift the login lock of ${user.identifier}? The failed-attempt count starts again from zero.`}
        confirmLabel="Unlock"
        disabled={!user.locked}
        action={async () => {
          await api.unlock(user.userId)
          props.onChange()
          return `Unlocked login for ${user.identifier}.`
        }}
      />
    </section>
  )
}
