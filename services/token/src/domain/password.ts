import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto'

// Stored as `scrypt$<log2N>$<r>$<p>$<salt b64url>$<hash b64url>`: the parameters travel with the hash, so
// raising the cost later keeps old hashes verifiable.
const KEY_LENGTH = 32

function derive(password: string, salt: Buffer, log2n: number, r: number, p: number): Promise<Buffer> {
  const N = 2 ** log2n
  return new Promise((resolve, reject) => {
    scrypt(
      password.normalize('NFKC'),
      salt,
      KEY_LENGTH,
      { N, r, p, maxmem: 256 * N * r + 1024 * 1024 },
      (err, key) => (err ? reject(err) : resolve(key)),
    )
  })
}

export async function hashPassword(password: string, log2n: number): Promise<string> {
  const salt = randomBytes(16)
  const key = await derive(password, salt, log2n, 8, 1)
  return ['scrypt', log2n, 8, 1, salt.toString('base64url'), key.toString('base64url')].join('$')
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$')
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false
  const [log2n, r, p] = [Number(parts[1]), Number(parts[2]), Number(parts[3])]
  if (![log2n, r, p].every(Number.isInteger) || log2n < 10 || log2n > 20) return false
  const expected = Buffer.from(parts[5]!, 'base64url')
  const actual = await derive(password, Buffer.from(parts[4]!, 'base64url'), log2n, r, p)
  return actual.length === expected.length && timingSafeEqual(actual, expected)
}

/**
 * Verifying against this hash when the identifier is unknown costs the same as a real check, so unknown
 * identifiers and wrong passwords cannot be told apart by latency.
 */
export async function dummyHash(log2n: number): Promise<string> {
  return hashPassword(randomBytes(16).toString('base64url'), log2n)
}
