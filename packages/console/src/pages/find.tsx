import { useState } from 'preact/hooks'
import { Page } from '../components/ui.tsx'
import { useConsole } from '../hooks.ts'
import { href } from '../router.ts'

const IP = /^[0-9.]+$|:/

/** Find a user by identifier (phone or email, any spelling) or open an IP address. */
export function FindPage() {
  const { api } = useConsole()
  const [error, setError] = useState<string | null>(null)
  const submit = async (event: Event) => {
    event.preventDefault()
    const value = String(new FormData(event.currentTarget as HTMLFormElement).get('q') ?? '').trim()
    setError(null)
    if (!value) return
    if (IP.test(value) && !value.includes('@')) {
      location.hash = href.ip(value)
      return
    }
    try {
      const { users } = await api.findUser(value)
      if (users[0]) location.hash = href.user(users[0].userId)
      else setError(`No user has the identifier ${value}.`)
    } catch (e) {
      setError((e as Error).message || 'The lookup failed.')
    }
  }
  return (
    <Page title="Find a user or an IP">
      <form class="stack card narrow" onSubmit={submit}>
        <label>
          Phone number, email address or IP
          <input name="q" required placeholder="+254712345678, amina@example.com or 203.0.113.7" />
        </label>
        <button type="submit" class="primary">
          Find
        </button>
        {error && (
          <p class="notice error" role="alert">
            {error}
          </p>
        )}
      </form>
    </Page>
  )
}
