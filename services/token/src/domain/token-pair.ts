import type { TokenPair } from '@africhain/contract'
import type { AccessTokenSigner, SessionRecord, User } from './ports.ts'

const seconds = (ms: number) => Math.floor(ms / 1000)

/**
 * The pair login and rotation answer with: a new access token for the session and the refresh token
 * given. An access token never outlives its session.
 */
export function issueTokenPair(
  d: { signer: AccessTokenSigner; policy: { accessTtl: number } },
  user: Pick<User, 'id' | 'roles'>,
  session: Pick<SessionRecord, 'id' | 'expiresAt'>,
  refreshToken: string,
  now: Date,
): TokenPair {
  const nowSec = seconds(now.getTime())
  const exp = Math.min(nowSec + d.policy.accessTtl, seconds(session.expiresAt.getTime()))
  return {
    accessToken: d.signer.sign({ sub: user.id, sid: session.id, roles: user.roles, exp }),
    refreshToken,
    tokenType: 'Bearer',
    expiresIn: exp - nowSec,
    refreshExpiresIn: seconds(session.expiresAt.getTime()) - nowSec,
    sessionId: session.id,
  }
}
