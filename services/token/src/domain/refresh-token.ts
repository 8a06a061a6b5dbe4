import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createSecretKey,
  hkdfSync,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto'

/**
 * Refresh tokens are opaque to clients, `rt_` + base64url, and only their SHA-256 is stored. Two shapes:
 * - signed (issued now): version byte 2 | session id (16 bytes) | generation (uint32) | 32 random bytes |
 *   HMAC-SHA-256 of all that under the deployment's refresh key, cut to 16 bytes (92 characters). The server
 *   can tell the session and generation of a token whose row it has deleted, and only a token it issued
 *   carries a valid MAC: no one can make "an old token of session X" to have X revoked as reused.
 * - legacy (issued before signed tokens): 32 random bytes (43 characters), known only by their row.
 */
const PREFIX = 'rt_'
const SHAPE = /^rt_(?:[A-Za-z0-9_-]{43}|[A-Za-z0-9_-]{92})$/
const SIGNED_VERSION = 2
const BODY = 1 + 16 + 4 + 32
const MAC = 16

export type ReadToken = { kind: 'legacy' } | { kind: 'signed'; sessionId: string; generation: number }

export type RefreshTokenCodec = {
  /** A new token for `sessionId` at `generation` (session ids are 16 random bytes in base64url). */
  mint(sessionId: string, generation: number): string
  /** What the token says, or undefined when it is malformed or its MAC does not verify. */
  read(token: string): ReadToken | undefined
}

export function refreshTokenCodec(key: Buffer): RefreshTokenCodec {
  const secret = createSecretKey(key) // a KeyObject once, not a Buffer per call (see keyFrom)
  const mac = (body: Buffer) => createHmac('sha256', secret).update(body).digest().subarray(0, MAC)
  return {
    mint(sessionId, generation) {
      const sid = Buffer.from(sessionId, 'base64url')
      if (sid.length !== 16 || sid.toString('base64url') !== sessionId)
        throw new Error('session ids are 16 bytes of base64url')
      const body = Buffer.alloc(BODY)
      body[0] = SIGNED_VERSION
      sid.copy(body, 1)
      body.writeUInt32BE(generation, 17)
      randomBytes(32).copy(body, 21)
      return PREFIX + Buffer.concat([body, mac(body)]).toString('base64url')
    },
    read(token) {
      if (!SHAPE.test(token)) return undefined
      const text = token.slice(PREFIX.length)
      if (text.length === 43) return { kind: 'legacy' }
      const raw = Buffer.from(text, 'base64url')
      // One spelling per token: a re-encoded one (other alphabet, changed padding bits) is not ours.
      if (raw.length !== BODY + MAC || raw.toString('base64url') !== text || raw[0] !== SIGNED_VERSION)
        return undefined
      const body = raw.subarray(0, BODY)
      if (!timingSafeEqual(mac(body), raw.subarray(BODY))) return undefined
      return {
        kind: 'signed',
        sessionId: body.subarray(1, 17).toString('base64url'),
        generation: body.readUInt32BE(17),
      }
    },
  }
}

export function hashRefreshToken(token: string): Buffer {
  return createHash('sha256').update(token).digest()
}

// A KeyObject, not a Buffer: given a Buffer, Node 24's createCipheriv spends ~10 µs turning it into one
// (14.6 µs per AES-GCM seal with a Buffer key against 5.3 with createSecretKey first, same machine).
function keyFrom(previous: string, sessionId: string) {
  return createSecretKey(Buffer.from(hkdfSync('sha256', previous, sessionId, 'africhain successor v1', 32)))
}

/**
 * Seals the successor refresh token under a key derived from the token it replaces. Only a holder of the
 * previous token can open it — which is exactly who may replay within the grace window — so the database
 * never holds a usable refresh token.
 */
export function sealSuccessor(previous: string, sessionId: string, successor: string): string {
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', keyFrom(previous, sessionId), iv)
  const body = Buffer.concat([cipher.update(successor, 'utf8'), cipher.final()])
  return Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url')
}

export function openSuccessor(previous: string, sessionId: string, sealed: string): string | undefined {
  try {
    const raw = Buffer.from(sealed, 'base64url')
    const decipher = createDecipheriv('aes-256-gcm', keyFrom(previous, sessionId), raw.subarray(0, 12))
    decipher.setAuthTag(raw.subarray(raw.length - 16))
    return Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]).toString(
      'utf8',
    )
  } catch {
    return undefined
  }
}
