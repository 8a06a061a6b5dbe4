// The page script of the browser test: one tab of a web app using the SDK with localStorage.
import { createAuthClient, localStorageAdapter } from '../../src/index.ts'

const auth = createAuthClient({
  baseUrl: location.origin,
  storage: localStorageAdapter(),
  device: { platform: 'web', name: 'browser test' },
})
const ended: string[] = []
auth.on('sessionEnded', (reason) => ended.push(reason))

// Every tab starts its calls when any tab says "go", so the tabs really race for the refresh.
// Each call settles to its token or, if it rejected, its error code.
let calls: Promise<string[]> | undefined
new BroadcastChannel('go').onmessage = () => {
  calls = Promise.all(
    Array.from({ length: 5 }, () => auth.getAccessToken().catch((e: { code?: string }) => `error:${e.code}`)),
  )
}

const app = {
  auth,
  ended,
  hasWebLocks: typeof navigator.locks?.request === 'function',
  go: () => new BroadcastChannel('go').postMessage('go'),
  results: () => calls,
  /** As if the laptop slept past the token's expiry: the stored expiry moves into the past. */
  expire: () => {
    const record = JSON.parse(localStorage.getItem('africhain.session') ?? '{}')
    localStorage.setItem('africhain.session', JSON.stringify({ ...record, expiresAt: Date.now() - 1 }))
  },
}
Object.assign(globalThis, { app })
export type BrowserApp = typeof app
