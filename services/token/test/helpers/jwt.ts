/** Reads a JWS header without verifying it (tests only). */
export function decodeProtectedHeader(token: string): { alg?: string; kid?: string; typ?: string } {
  return JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString('utf8'))
}
