import { randomBytes } from 'node:crypto'
import type { TokenPair } from '@africhain/contract'
import type { RequestContext } from '../context.ts'
import { DomainError } from '../errors.ts'
import { loginFailedEvent, sessionEvent } from '../events.ts'
import { normaliseIdentifier } from '../identifier.ts'
import { countedPasswordCheck, lockAccount } from '../lockout.ts'
import { verifyPassword } from '../password.ts'
import type { Device, SessionRecord, User } from '../ports.ts'
import { hashRefreshToken } from '../refresh-token.ts'
import { issueTokenPair } from '../token-pair.ts'
import type { SessionDeps } from './deps.ts'

export type LoginInput = { identifier: string; password: string; device: Device; rememberMe?: boolean }

/**
 * Sign in on a device: a new session and its token pair. Lockout is per account (`lockout.ts`): every
 * spelling that finds the user counts against its id; an unknown identifier is counted under its normal
 * form and answered the same way, after the same scrypt work against `dummyHash` (same latency either way).
 */
export async function login(
  d: SessionDeps & { dummyHash: Promise<string> },
  input: LoginInput,
  ctx: RequestContext,
): Promise<TokenPair> {
  const id = normaliseIdentifier(input.identifier)
  const user = id ? await d.users.findByIdentifier(id.value) : undefined
  await countedPasswordCheck(
    { guard: d.guard, appendEvents: (events) => d.sessions.appendEvents(events), now: d.now },
    {
      account: user ? lockAccount(user.id) : `identifier:${id?.value ?? input.identifier.normalize('NFKC')}`,
      userId: user?.id,
      verify: async () =>
        (await verifyPassword(input.password, user?.passwordHash ?? (await d.dummyHash))) && !!user,
      failedEvent: (reason) =>
        loginFailedEvent({ ...(user ? { userId: user.id } : {}), device: input.device }, ctx, reason),
    },
    ctx,
  )
  // The check passed, so the identifier named a user. Only after the right password: a stranger cannot
  // learn that an account is disabled.
  if (user!.disabled) throw new DomainError('USER_DISABLED')
  return openSession(d, user!, input.device, input.rememberMe === true, ctx)
}

async function openSession(
  d: SessionDeps,
  user: User,
  device: Device,
  rememberMe: boolean,
  ctx: RequestContext,
): Promise<TokenPair> {
  const now = d.now()
  const ttl = rememberMe ? d.policy.refreshLongTtl : d.policy.refreshTtl
  const session: SessionRecord = {
    id: randomBytes(16).toString('base64url'),
    userId: user.id,
    device,
    userAgent: ctx.userAgent,
    ip: ctx.ip,
    rememberMe,
    createdAt: now,
    lastActiveAt: now,
    expiresAt: new Date(now.getTime() + ttl * 1000),
    revokedAt: null,
    revokedReason: null,
    generation: 1,
    rotatedAt: null,
    rotatedAgoMs: null,
    successorEnc: null,
    currentHash: null,
    previousHash: null,
  }
  const refreshToken = d.tokens.mint(session.id, session.generation)
  session.currentHash = hashRefreshToken(refreshToken)
  const created = sessionEvent(session, ctx, {
    type: 'session.created',
    data: { expiresAt: session.expiresAt.toISOString(), rememberMe },
  })
  // The store re-reads the user row locked: disabled, or the verified password replaced, since our read.
  const outcome = await d.sessions.create(session, [created], user.passwordHash)
  if (outcome === 'user_disabled') throw new DomainError('USER_DISABLED')
  if (outcome === 'password_changed') throw new DomainError('INVALID_CREDENTIALS')
  await d.hot.markActive(session.id, user.id, session.expiresAt)
  return issueTokenPair(d, user, session, refreshToken, now)
}
