import { randomUUID } from 'node:crypto'
import { newEvent } from '@africhain/events'
import type { RequestContext } from '../context.ts'
import { DomainError, invalidIdentifier } from '../errors.ts'
import { requestFields } from '../events.ts'
import { normaliseIdentifier } from '../identifier.ts'
import { hashPassword } from '../password.ts'
import type { User, UserStore } from '../ports.ts'

export type Registration = { identifier: string; password: string; displayName?: string; roles?: string[] }

/**
 * A new account (POST /auth/register, `pnpm cli user:create`): the identifier in its normal form, the
 * password only as its hash, and `user.registered` in the same transaction. Does not sign in.
 */
export async function register(
  d: { users: UserStore; policy: { passwordCost: number } },
  input: Registration,
  ctx: RequestContext,
): Promise<{ userId: string; identifier: string; roles: string[] }> {
  const id = normaliseIdentifier(input.identifier)
  if (!id) throw invalidIdentifier()
  const user: User = {
    id: randomUUID(),
    identifier: id.value,
    passwordHash: await hashPassword(input.password, d.policy.passwordCost),
    displayName: input.displayName ?? null,
    roles: input.roles ?? ['user'],
  }
  const event = newEvent({
    type: 'user.registered',
    userId: user.id,
    ...requestFields(ctx),
    data: { identifierKind: id.kind },
  })
  if (!(await d.users.create(user, event)))
    throw new DomainError('IDENTIFIER_TAKEN', { detail: 'identifier is already registered' })
  return { userId: user.id, identifier: user.identifier, roles: user.roles }
}
