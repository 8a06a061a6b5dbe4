import type { AuthClient } from '@africhain/client'
import { useState } from 'preact/hooks'

/** Sign-in with the SDK: the session then stays alive through the SDK's automatic refresh. */
export function SignIn(props: { auth: AuthClient; reason?: string; onSignedIn(): void }) {
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const submit = async (event: Event) => {
    event.preventDefault()
    const form = new FormData(event.currentTarget as HTMLFormElement)
    setBusy(true)
    setError(null)
    try {
      await props.auth.login({
        identifier: String(form.get('identifier') ?? ''),
        password: String(form.get('password') ?? ''),
      })
      props.onSignedIn()
    } catch (e) {
      const err = e as Error & { code?: string }
      setError(
        err.code === 'INVALID_CREDENTIALS'
          ? 'Identifier or password is wrong.'
          : err.code === 'LOGIN_LOCKED'
            ? 'Too many failed attempts: this account is locked for a while.'
            : `Sign-in failed: ${err.message}${err.code ? ` (${err.code})` : ''}`,
      )
    } finally {
      setBusy(false)
    }
  }
  return (
    <main class="center-card">
      <h1>Security console</h1>
      <p class="muted">Sign in with your AfriChain account (role security or admin).</p>
      {props.reason && <p class="notice">{props.reason}</p>}
      <form onSubmit={submit} class="stack">
        <label>
          Identifier (phone or email)
          <input name="identifier" autocomplete="username" required />
        </label>
        <label>
          Password
          <input name="password" type="password" autocomplete="current-password" required />
        </label>
        {error && (
          <p class="notice error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  )
}
