import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto'
import { ApiError } from '@africhain/http'
import { ConcurrencyLimit, type ConcurrencyLimits } from './concurrency-limit.ts'

// Stored as `scrypt$<log2N>$<r>$<p>$<salt b64url>$<hash b64url>`: the parameters travel with the hash, so
// raising the cost later keeps old hashes verifiable.
const KEY_LENGTH = 32

/**
 * One scrypt holds 32 MiB and a libuv thread for ~50 ms: a burst of logins must not queue unbounded work
 * behind the thread pool (memory, then latency for everyone). The cap is per process, because the pool
 * is; overflow answers 503 with Retry-After at once, and the client's retry finds a free slot.
 */
const hashing = new ConcurrencyLimit({ concurrency: 4, queue: 32 })

export function configurePasswordHashing(limits: ConcurrencyLimits): void {
  hashing.configure(limits)
}

/** Hashes running and waiting now (metrics and tests). */
export function passwordHashingLoad(): { active: number; queued: number } {
  return { active: hashing.active, queued: hashing.queued }
}

const busy = () =>
  new ApiError('DEPENDENCY_UNAVAILABLE', 'too many sign-ins at once; try again shortly', {
    'Retry-After': '1',
  })

function derive(password: string, salt: Buffer, log2n: number, r: number, p: number): Promise<Buffer> {
  return hashing.run(() => scryptOnce(password, salt, log2n, r, p), busy)
}

function scryptOnce(password: string, salt: Buffer, log2n: number, r: number, p: number): Promise<Buffer> {
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
