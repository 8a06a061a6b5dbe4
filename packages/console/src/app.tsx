import type { AuthClient } from '@africhain/client'
import { useCallback, useEffect, useMemo, useState } from 'preact/hooks'
import type { Api } from './api.ts'
import { Layout } from './components/layout.tsx'
import { Ctx, type Notify } from './hooks.ts'
import { FindPage } from './pages/find.tsx'
import { FlaggedPage } from './pages/flagged.tsx'
import { IpPage } from './pages/ip.tsx'
import { LivePage } from './pages/live.tsx'
import { OverviewPage } from './pages/overview.tsx'
import { ReportPage } from './pages/report.tsx'
import { SignIn } from './pages/sign-in.tsx'
import { UserPage } from './pages/user.tsx'
import { type Route, useRoute } from './router.ts'
import type { Me } from './types.ts'

export const ALLOWED_ROLES = ['security', 'admin']

type State =
  | { kind: 'starting' }
  | { kind: 'signed-out'; reason?: string }
  | { kind: 'not-allowed'; me: Me }
  | { kind: 'in'; me: Me }

function routed(route: Route) {
  switch (route.page) {
    case 'overview':
      return <OverviewPage />
    case 'flagged':
      return <FlaggedPage />
    case 'user':
      return <UserPage userId={route.userId} />
    case 'ip':
      return <IpPage ip={route.ip} />
    case 'live':
      return <LivePage />
    case 'report':
      return <ReportPage date={route.date} />
    case 'find':
      return <FindPage />
  }
}

export function App(props: { auth: AuthClient; api: Api }) {
  const { auth, api } = props
  const [state, setState] = useState<State>({ kind: 'starting' })
  const [status, setStatus] = useState<{ message: string; kind: 'ok' | 'error' } | null>(null)
  const route = useRoute()
  // What an action said belongs to the page it was done on.
  useEffect(() => setStatus(null), [route])

  /** Who the stored session belongs to, asked of the token service (roles are re-read at every start). */
  const check = useCallback(async () => {
    if (!(await auth.getSession())) return setState({ kind: 'signed-out' })
    try {
      const me = await api.me()
      const allowed = me.roles.some((r) => ALLOWED_ROLES.includes(r))
      setState(allowed ? { kind: 'in', me } : { kind: 'not-allowed', me })
    } catch (error) {
      setState({ kind: 'signed-out', reason: (error as Error).message })
    }
  }, [auth, api])

  useEffect(() => {
    check()
    return auth.on('sessionEnded', (reason) =>
      setState({ kind: 'signed-out', reason: `Your session ended (${reason}). Sign in again.` }),
    )
  }, [auth, check])

  const signOut = useCallback(async () => {
    await auth.logout().catch(() => {})
    setState({ kind: 'signed-out', reason: 'You are signed out.' })
  }, [auth])

  const notify: Notify = useCallback((message, kind = 'ok') => setStatus({ message, kind }), [])
  const ctx = useMemo(
    () => (state.kind === 'in' ? { api, notify, me: state.me } : null),
    [api, notify, state],
  )

  if (state.kind === 'starting') return <p class="boot">Loading the security console…</p>
  if (state.kind === 'signed-out') return <SignIn auth={auth} reason={state.reason} onSignedIn={check} />
  if (state.kind === 'not-allowed') {
    return (
      <main class="center-card not-allowed">
        <h1>Not allowed</h1>
        <p>
          This console is for the security team. Your account has the role
          {state.me.roles.length === 1 ? '' : 's'} <b>{state.me.roles.join(', ') || 'none'}</b>; it needs{' '}
          <b>security</b> or <b>admin</b>.
        </p>
        <p>Ask an administrator to grant the role, then sign in again.</p>
        <button type="button" class="primary" onClick={signOut}>
          Sign out
        </button>
      </main>
    )
  }
  return (
    <Ctx.Provider value={ctx}>
      <Layout
        route={route}
        me={state.me}
        onSignOut={signOut}
        status={status}
        onDismiss={() => setStatus(null)}
      >
        {routed(route)}
      </Layout>
    </Ctx.Provider>
  )
}
