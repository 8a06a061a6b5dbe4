export {
  type AuthClient,
  type AuthClientOptions,
  createAuthClient,
  type LoginInput,
  type Session,
  type SessionInfo,
} from './client.ts'
export { type Device, DevicePlatform } from './device.ts'
export type { SessionEndedListener } from './emitter.ts'
export { AuthError, AuthErrorCode, isAuthError, SESSION_ENDING_CODES } from './errors.ts'
export type { FetchLike } from './http.ts'
export type { LockManagerLike } from './lock.ts'
export {
  type AsyncStorageLike,
  asyncStorageAdapter,
  localStorageAdapter,
  memoryStorage,
  type TokenStorage,
  type WebStorageLike,
} from './storage.ts'
