/**
 * Reads a JWT's payload WITHOUT verifying it. The SDK only uses it to learn its own user id
 * (`sub`) and, as a fallback, the expiry; it never makes an access decision from it.
 * No `atob`/`Buffer`: both are missing from some React Native engines.
 */
export function decodeJwtPayload(token: string): Record<string, unknown> | undefined {
  const part = token.split('.')[1]
  if (!part) return undefined
  try {
    const payload: unknown = JSON.parse(utf8(base64UrlToBytes(part)))
    return payload !== null && typeof payload === 'object' ? (payload as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

function base64UrlToBytes(input: string): number[] {
  const bytes: number[] = []
  let buffer = 0
  let bits = 0
  for (const char of input) {
    const value = ALPHABET.indexOf(char === '+' ? '-' : char === '/' ? '_' : char)
    if (value < 0) {
      if (char === '=') break
      throw new SyntaxError('not base64url')
    }
    buffer = (buffer << 6) | value
    bits += 6
    if (bits >= 8) {
      bits -= 8
      bytes.push((buffer >> bits) & 0xff)
    }
  }
  return bytes
}

function utf8(bytes: number[]): string {
  return decodeURIComponent(bytes.map((b) => `%${b.toString(16).padStart(2, '0')}`).join(''))
}
