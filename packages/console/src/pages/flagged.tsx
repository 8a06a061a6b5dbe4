import { useMemo, useState } from 'preact/hooks'
import { Async, Chips, Page, Score } from '../components/ui.tsx'
import { ago, time } from '../format.ts'
import { useConsole, useLoad } from '../hooks.ts'
import { href } from '../router.ts'
import type { RiskAssessment, UserProfile } from '../types.ts'

type Row = RiskAssessment & { profile?: UserProfile; lastActivity?: string }
type Sort = 'score' | 'activity' | 'identifier'

/** Users whose score is suspicious, each with who they are (token admin API) and when they were last seen. */
export function FlaggedPage() {
  const { api } = useConsole()
  const load = useLoad(
    async (): Promise<Row[]> => {
      const { users } = await api.flagged()
      const [profiles, latest] = await Promise.all([
        api.profiles(users.map((u) => u.userId)),
        Promise.all(users.map((u) => api.events({ userId: u.userId }, 1).catch(() => undefined))),
      ])
      return users.map((risk, i) => ({
        ...risk,
        profile: profiles.get(risk.userId),
        lastActivity: latest[i]?.events[0]?.occurredAt,
      }))
    },
    [api],
    15_000,
  )
  const [text, setText] = useState('')
  const [factor, setFactor] = useState('')
  const [sort, setSort] = useState<Sort>('score')
  return (
    <Page title="Flagged users">
      <div class="filters">
        <label>
          Filter
          <input
            type="search"
            value={text}
            placeholder="identifier, name or id"
            onInput={(e) => setText(e.currentTarget.value)}
          />
        </label>
        <label>
          Factor
          <select value={factor} onChange={(e) => setFactor(e.currentTarget.value)}>
            <option value="">any</option>
            {[
              'TOKEN_REUSE',
              'MULTIPLE_IPS',
              'RAPID_ACTIVITY',
              'TOKEN_REVOCATIONS',
              'MULTIPLE_DEVICES',
              'FAILED_LOGINS',
            ].map((f) => (
              <option key={f} value={f}>
                {f}
              </option>
            ))}
          </select>
        </label>
        <label>
          Sort by
          <select value={sort} onChange={(e) => setSort(e.currentTarget.value as Sort)}>
            <option value="score">score</option>
            <option value="activity">last activity</option>
            <option value="identifier">identifier</option>
          </select>
        </label>
      </div>
      <Async value={load}>
        {(rows) => <FlaggedTable rows={rows} text={text} factor={factor} sort={sort} />}
      </Async>
    </Page>
  )
}

function FlaggedTable(props: { rows: Row[]; text: string; factor: string; sort: Sort }) {
  const rows = useMemo(() => {
    const needle = props.text.trim().toLowerCase()
    const shown = props.rows.filter(
      (r) =>
        (!props.factor || r.factors.some((f) => f.code === props.factor)) &&
        (!needle ||
          [r.userId, r.profile?.identifier, r.profile?.displayName].some((v) =>
            v?.toLowerCase().includes(needle),
          )),
    )
    const by: Record<Sort, (a: Row, b: Row) => number> = {
      score: (a, b) => b.riskScore - a.riskScore,
      activity: (a, b) => (b.lastActivity ?? '').localeCompare(a.lastActivity ?? ''),
      identifier: (a, b) => (a.profile?.identifier ?? '').localeCompare(b.profile?.identifier ?? ''),
    }
    return shown.sort(by[props.sort])
  }, [props.rows, props.text, props.factor, props.sort])
  if (props.rows.length === 0) return <p class="notice ok">No user is flagged right now.</p>
  return (
    <div class="table-wrap">
      <table>
        <caption class="sr-only">Flagged users, {rows.length} shown</caption>
        <thead>
          <tr>
            <th scope="col">User</th>
            <th scope="col">Score</th>
            <th scope="col">Factors</th>
            <th scope="col">Last activity</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.userId}>
              <td>
                <a href={href.user(r.userId)} class="who-cell">
                  <b>{r.profile?.identifier ?? 'unknown user'}</b>
                  <span>{r.profile?.displayName ?? ''}</span>
                  <code>{r.userId}</code>
                </a>
              </td>
              <td>
                <Score value={r.riskScore} />
              </td>
              <td>
                <Chips factors={r.factors} />
              </td>
              <td title={time(r.lastActivity)}>{ago(r.lastActivity)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}
