import { randomBytes } from 'node:crypto'
import { createSigner } from 'fast-jwt'
import type { AccessClaims, AccessTokenSigner } from '../domain/ports.ts'
import type { KeyRing, SigningKey } from './key-ring.ts'

type SignFn = (payload: Record<string, unknown>) => string

/** Signs access tokens (EdDSA, `typ: at+jwt`) with whichever key the ring says signs now. */
export function accessTokenSigner(ring: KeyRing, issuer: string, audience: string): AccessTokenSigner {
  const signers = new WeakMap<SigningKey, SignFn>()
  return {
    sign(claims: AccessClaims): string {
      const key = ring.signingKey()
      let sign = signers.get(key)
      if (!sign) {
        sign = createSigner({
          algorithm: 'EdDSA',
          key: key.privatePem,
          kid: key.kid,
          header: { alg: 'EdDSA', typ: 'at+jwt' },
        }) as SignFn
        signers.set(key, sign)
      }
      return sign({
        iss: issuer,
        aud: audience,
        sub: claims.sub,
        sid: claims.sid,
        roles: claims.roles,
        jti: randomBytes(16).toString('base64url'),
        exp: claims.exp,
      })
    },
  }
}
