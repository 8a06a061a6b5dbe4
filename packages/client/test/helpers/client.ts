import { type AuthClientOptions, createAuthClient, memoryStorage } from '../../src/index.ts'
import type { FakeTokenService } from './fake-token-service.ts'

/** A client on the fake service with deterministic defaults: memory storage, no cross-tab lock. */
export function clientFor(service: FakeTokenService, options: Partial<AuthClientOptions> = {}) {
  const storage = options.storage ?? memoryStorage()
  const auth = createAuthClient({
    baseUrl: service.baseUrl,
    device: { platform: 'web', name: 'test' },
    locks: null,
    ...options,
    storage,
  })
  const ended: string[] = []
  auth.on('sessionEnded', (reason) => ended.push(reason))
  return { auth, storage, ended }
}
