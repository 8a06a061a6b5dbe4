import { Timeline } from '../components/timeline.tsx'
import { Async, Page, Stat } from '../components/ui.tsx'
import { time } from '../format.ts'
import { useConsole, useLoad } from '../hooks.ts'
import { href } from '../router.ts'

/** One client address: every account it touched, with failures and successes — a credential-stuffing run shows here. */
export function IpPage(props: { ip: string }) {
  const { api } = useConsole()
  const load = useLoad(
    async () => {
      const summary = await api.ip(props.ip)
      return { ...summary, profiles: await api.profiles(summary.users.map((u) => u.userId)) }
    },
    [api, props.ip],
    5_000,
  )
  return (
    <Page title={`IP ${props.ip}`}>
      <Async value={load}>
        {(s) => (
          <>
            <div class="stats">
              <Stat label="accounts touched" value={s.accounts} />
              <Stat label="logins" value={s.logins} />
              <Stat label="failed logins" value={s.failedLogins} />
              <Stat label="first seen" value={<span class="stat-time">{time(s.firstSeen)}</span>} />
              <Stat label="last seen" value={<span class="stat-time">{time(s.lastSeen)}</span>} />
            </div>
            {s.label && <p class="muted">Network: {s.label}</p>}
            <div class="table-wrap card">
              <table>
                <caption>Accounts seen from {s.ip}</caption>
                <thead>
                  <tr>
                    <th scope="col">User</th>
                    <th scope="col">Failed</th>
                    <th scope="col">Succeeded</th>
                  </tr>
                </thead>
                <tbody>
                  {s.users.map((u) => (
                    <tr key={u.userId} class={u.failed > 0 && u.succeeded === 0 ? 'alarm' : ''}>
                      <td>
                        <a href={href.user(u.userId)} class="who-cell">
                          <b>{s.profiles.get(u.userId)?.identifier ?? 'unknown user'}</b>
                          <code>{u.userId}</code>
                        </a>
                      </td>
                      <td>{u.failed}</td>
                      <td>{u.succeeded}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </>
        )}
      </Async>
      <Timeline
        filter={{ ip: props.ip }}
        showUser
        names={new Map([...(load.data?.profiles ?? [])].map(([id, p]) => [id, p.identifier]))}
      />
    </Page>
  )
}
