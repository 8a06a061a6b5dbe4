import { Session } from '@africhain/contract'
import { Platform } from '@africhain/events'
import { Type } from 'typebox'

/**
 * Request schemas of the token service, and the response shapes only it answers with: one per concept.
 * The shapes the SDK reads too (`TokenPair`, `Session`) live in @africhain/contract.
 */

const DeviceBody = Type.Object(
  {
    id: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    platform: Platform,
    name: Type.Optional(Type.String({ maxLength: 100 })),
  },
  { additionalProperties: false },
)

export const RegisterBody = Type.Object(
  {
    identifier: Type.String({ minLength: 3, maxLength: 320 }),
    password: Type.String({ minLength: 8, maxLength: 128 }),
    displayName: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  },
  { additionalProperties: false },
)

export const LoginBody = Type.Object(
  {
    identifier: Type.String({ minLength: 1, maxLength: 320 }),
    password: Type.String({ minLength: 1, maxLength: 128 }),
    device: DeviceBody,
    rememberMe: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
)

export const RefreshBody = Type.Object(
  {
    refreshToken: Type.String({ minLength: 1, maxLength: 4096 }),
    device: Type.Optional(DeviceBody),
  },
  { additionalProperties: false },
)

export const RevokeSessionBody = Type.Object(
  { sessionId: Type.String({ minLength: 1, maxLength: 64 }) },
  { additionalProperties: false },
)

export const LogoutAllBody = Type.Union([
  Type.Object({ keepCurrent: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
  Type.Null(),
])

export const Revoked = Type.Object({ revoked: Type.Integer() })

export const bearer = [{ bearer: [] }]

export const PasswordChangeBody = Type.Object(
  {
    currentPassword: Type.String({ minLength: 1, maxLength: 128 }),
    newPassword: Type.String({ minLength: 8, maxLength: 128 }),
  },
  { additionalProperties: false },
)

/** `UserProfile` (docs/api.md, "Shapes"): an account as an administrator sees it (never its password hash). */
export const UserProfile = Type.Object({
  userId: Type.String(),
  identifier: Type.String(),
  displayName: Type.Union([Type.String(), Type.Null()]),
  roles: Type.Array(Type.String()),
  createdAt: Type.String({ format: 'date-time' }),
  locked: Type.Boolean({ description: 'the login lock is set (too many failed passwords)' }),
  disabled: Type.Boolean({ description: 'an administrator disabled the account' }),
})

/** `UserProfile & { sessions }`, spelt as one object (one serializer, one OpenAPI schema). */
export const UserDetail = Type.Object({
  ...UserProfile.properties,
  sessions: Type.Array(Session, { description: 'active sessions, most recent first' }),
})

export const UserLookupQuery = Type.Object(
  {
    identifier: Type.String({
      minLength: 1,
      maxLength: 320,
      description: 'an email or E.164 phone number, in any spelling that normalises to the stored one',
    }),
  },
  { additionalProperties: false },
)

export const UserIdParams = Type.Object(
  { userId: Type.String({ minLength: 1, maxLength: 64 }) },
  { additionalProperties: false },
)

export const SessionIdParams = Type.Object(
  { sessionId: Type.String({ minLength: 1, maxLength: 64 }) },
  { additionalProperties: false },
)
