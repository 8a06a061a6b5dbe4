import { createAuthClient, localStorageAdapter } from '@africhain/client'
import { render } from 'preact'
import { createApi } from './api.ts'
import { App } from './app.tsx'
import './styles/base.css'
import './styles/layout.css'
import './styles/data.css'
import './styles/charts.css'
import './styles/widgets.css'

/** Where the token service is, as the analytics service was configured (CONSOLE_TOKEN_URL). */
async function loadConfig(): Promise<{ tokenServiceUrl: string }> {
  const response = await fetch('config.json', { cache: 'no-store' })
  if (!response.ok) throw new Error(`config.json answered ${response.status}`)
  return response.json()
}

const root = document.getElementById('app')!
try {
  const { tokenServiceUrl } = await loadConfig()
  // sessionStorage: the sign-in lasts as long as this tab (a reload keeps it), never the whole browser profile.
  const auth = createAuthClient({
    baseUrl: tokenServiceUrl,
    storage: localStorageAdapter(sessionStorage),
    storageKey: 'africhain.console',
    device: { platform: 'web', name: 'Security console' },
    allowedOrigins: [location.origin],
  })
  render(<App auth={auth} api={createApi(auth, tokenServiceUrl)} />, root)
} catch (error) {
  root.textContent = `The console could not start: ${(error as Error).message}`
}
