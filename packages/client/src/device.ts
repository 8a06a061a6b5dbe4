import type { TokenStorage } from './storage.ts'

export const DevicePlatform = {
  web: 'web',
  ios: 'ios',
  android: 'android',
  ussd: 'ussd',
  desktop: 'desktop',
  other: 'other',
} as const
export type DevicePlatform = (typeof DevicePlatform)[keyof typeof DevicePlatform]

/** As the token service takes it at login (docs/api.md, "Device binding"): id ≤ 128 characters, name ≤ 100. */
export type Device = { id?: string; platform: DevicePlatform; name?: string }
export type ResolvedDevice = { id: string; platform: DevicePlatform; name?: string }

/** `web` where there is a DOM, otherwise `other`; React Native apps should say `ios` or `android`. */
export function defaultPlatform(): DevicePlatform {
  return typeof (globalThis as { document?: unknown }).document === 'object' ? 'web' : 'other'
}

/**
 * The device id is stable per installation (per browser profile for web): generated once and kept
 * under its own key, so it outlives logouts and every session from this device carries the same id.
 */
export async function resolveDevice(
  device: Device | undefined,
  storage: TokenStorage,
  key: string,
): Promise<ResolvedDevice> {
  const platform = device?.platform ?? defaultPlatform()
  const name = device?.name
  let id = device?.id ?? (await storage.get(key)) ?? undefined
  if (!id) {
    id = randomId()
    await storage.set(key, id)
  }
  return name === undefined ? { id, platform } : { id, platform, name }
}

type CryptoLike = { randomUUID?: () => string; getRandomValues?: (bytes: Uint8Array) => Uint8Array }

export function randomId(): string {
  const crypto = (globalThis as { crypto?: CryptoLike }).crypto
  if (crypto?.randomUUID) return crypto.randomUUID()
  if (crypto?.getRandomValues) {
    // RFC 4122 version 4 from 16 random bytes (React Native with react-native-get-random-values).
    const b = crypto.getRandomValues(new Uint8Array(16))
    b[6] = (b[6]! & 0x0f) | 0x40
    b[8] = (b[8]! & 0x3f) | 0x80
    const hex = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
  }
  throw new TypeError(
    'createAuthClient: globalThis.crypto is missing; pass device.id or install a getRandomValues polyfill',
  )
}
