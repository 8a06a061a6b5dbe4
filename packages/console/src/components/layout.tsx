import type { ComponentChildren } from 'preact'
import { useEffect } from 'preact/hooks'
import type { Route } from '../router.ts'
import type { Me } from '../types.ts'

const NAV: { page: Route['page']; href: string; label: string }[] = [
  { page: 'overview', href: '#/overview', label: 'Overview' },
  { page: 'flagged', href: '#/flagged', label: 'Flagged users' },
  { page: 'live', href: '#/live', label: 'Live feed' },
  { page: 'report', href: '#/report', label: 'Daily report' },
  { page: 'find', href: '#/find', label: 'Find' },
]

export function Layout(props: {
  route: Route
  me: Me
  onSignOut(): void
  status: { message: string; kind: 'ok' | 'error' } | null
  onDismiss(): void
  children: ComponentChildren
}) {
  const { route, status } = props
  // A new page moves the focus to its heading, so keyboard and screen-reader users land on it.
  useEffect(() => {
    document.getElementById('page-title')?.focus()
  }, [route])
  return (
    <div class="shell">
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand">AfriChain · Security console</span>
        <nav aria-label="Pages">
          <ul>
            {NAV.map((n) => (
              <li key={n.page}>
                <a href={n.href} aria-current={route.page === n.page ? 'page' : undefined}>
                  {n.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="who">
          <span class="muted" title={props.me.userId}>
            {props.me.roles.join(', ')}
          </span>
          <button type="button" onClick={props.onSignOut}>
            Sign out
          </button>
        </div>
      </header>
      <div class="status" role="status" aria-live="polite">
        {status && (
          <p class={`notice ${status.kind}`}>
            {status.message}{' '}
            <button type="button" class="link" onClick={props.onDismiss} aria-label="Dismiss message">
              ×
            </button>
          </p>
        )}
      </div>
      <main id="main">{props.children}</main>
    </div>
  )
}
