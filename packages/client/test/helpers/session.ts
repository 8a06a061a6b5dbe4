import type { TokenStorage } from '../../src/index.ts'
import { type LiveSession, parseRecord } from '../../src/session-record.ts'

export const STORAGE_KEY = 'africhain.session'

export async function storedSession(storage: TokenStorage, key = STORAGE_KEY): Promise<LiveSession> {
  const record = parseRecord(await storage.get(key))
  if (!record || !('accessToken' in record)) throw new Error('no live session stored')
  return record
}

/** Makes the stored access token look expired to the client (as if the tab slept past `exp`). */
export async function expireStoredSession(storage: TokenStorage, key = STORAGE_KEY): Promise<void> {
  const record = await storedSession(storage, key)
  await storage.set(
    key,
    JSON.stringify({ ...record, expiresAt: Date.now() - 1, issuedAt: Date.now() - 60_000 }),
  )
}
