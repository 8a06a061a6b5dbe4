import { type Static, type TUnsafe, Type } from 'typebox'

/**
 * A string that is one of `values`, as JSON Schema's `enum` rather than TypeBox's union of literals
 * (`anyOf` of `const`s): OpenAPI then shows the values as an `enum` a code generator turns into a union,
 * and a failing value gives ajv one `enum` error with its `allowedValues` (the 400 message lists them)
 * instead of one error per literal. The TypeScript type is still the union of the values.
 */
export function StringEnum<const T extends readonly string[]>(
  values: T,
  options: { description?: string } = {},
): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ ...options, type: 'string', enum: [...values] })
}

/** Platforms a device can declare; shared by the token service's request schemas and the events. */
export const Platform = StringEnum(['web', 'ios', 'android', 'ussd', 'desktop', 'other'], {
  description: 'the kind of device',
})
export type Platform = Static<typeof Platform>

export const EventDevice = Type.Object({
  id: Type.Optional(Type.String({ maxLength: 128 })),
  platform: Type.String({ maxLength: 16 }),
  name: Type.Optional(Type.String({ maxLength: 100 })),
})
export type EventDevice = Static<typeof EventDevice>

export const RevokeReason = StringEnum(
  ['logout', 'revoked', 'logout_all', 'reuse_detected', 'admin', 'risk', 'password_changed'],
  { description: 'why the session was revoked' },
)
export type RevokeReason = Static<typeof RevokeReason>

/** The `data` payload of each event type. Consumers must be able to act on an event without calling back. */
export const EventData = {
  'user.registered': Type.Object({
    identifierKind: StringEnum(['email', 'phone']),
  }),
  'session.created': Type.Object({ expiresAt: Type.String(), rememberMe: Type.Boolean() }),
  'session.refreshed': Type.Object({ generation: Type.Integer({ minimum: 1 }) }),
  'session.revoked': Type.Object({
    reason: RevokeReason,
    /** ISO time of the latest `exp` among the session's access tokens: a denylist entry can expire then. */
    accessTokensValidUntil: Type.String(),
    /** Who revoked it, when an administrator did (their user id, or `cli`). */
    actorId: Type.Optional(Type.String({ maxLength: 64 })),
  }),
  'token.reuse_detected': Type.Object({
    presentedGeneration: Type.Integer(),
    currentGeneration: Type.Integer(),
  }),
  'session.device_mismatch': Type.Object({ presentedDeviceId: Type.String({ maxLength: 128 }) }),
  'login.failed': Type.Object({
    reason: StringEnum(['invalid_credentials', 'locked']),
  }),
  /** The account's login lock was set: `lockedUntil` is when it lifts. */
  'user.locked': Type.Object({ lockedUntil: Type.String() }),
  /** An administrator lifted the login lock (`actorId`: who). */
  'user.unlocked': Type.Object({ actorId: Type.String({ maxLength: 64 }) }),
  /** An administrator disabled the account: every session revoked, login and refresh refused. */
  'user.disabled': Type.Object({ actorId: Type.String({ maxLength: 64 }) }),
  'user.enabled': Type.Object({ actorId: Type.String({ maxLength: 64 }) }),
  /** The password changed: by the user (`actorId` is the user) or an administrator (the CLI: `cli`). */
  'user.password_changed': Type.Object({ actorId: Type.String({ maxLength: 64 }) }),
  /**
   * A client hit a rate limit: one event per limited client and route per window, so a credential-stuffing
   * run leaves a trace. `client` is the IPv4 address or the IPv6 /64 the limit counts by.
   */
  'abuse.rate_limited': Type.Object({
    route: Type.String({ maxLength: 64 }),
    client: Type.String({ maxLength: 64 }),
    limit: Type.Integer({ minimum: 1 }),
    windowSeconds: Type.Integer({ minimum: 1 }),
  }),
} as const

export type SessionEventType = keyof typeof EventData
export const SESSION_EVENT_TYPES = Object.keys(EventData) as SessionEventType[]

/** An event type name as a schema (`enum`), e.g. the analytics API's `?type=` filter. */
export const EventType = StringEnum(SESSION_EVENT_TYPES, { description: 'a session event type' })

const envelopeFields = {
  id: Type.String({ format: 'uuid' }),
  version: Type.Literal(1),
  occurredAt: Type.String(),
  userId: Type.Optional(Type.String({ maxLength: 64 })),
  sessionId: Type.Optional(Type.String({ maxLength: 64 })),
  ip: Type.Optional(Type.String({ maxLength: 64 })),
  userAgent: Type.Optional(Type.String({ maxLength: 512 })),
  device: Type.Optional(EventDevice),
}

function envelopeOf<T extends SessionEventType>(type: T) {
  return Type.Object({ ...envelopeFields, type: Type.Literal(type), data: EventData[type] })
}

export const SessionEvent = Type.Union(SESSION_EVENT_TYPES.map((t) => envelopeOf(t)))

/** One session event as it travels on `EVENTS_STREAM`. */
export type SessionEvent = {
  [K in SessionEventType]: Omit<Static<ReturnType<typeof envelopeOf<K>>>, 'type' | 'data'> & {
    type: K
    data: Static<(typeof EventData)[K]>
  }
}[SessionEventType]

export type SessionEventOf<K extends SessionEventType> = Extract<SessionEvent, { type: K }>

export const RiskFactor = Type.Object({
  code: Type.String(),
  points: Type.Integer(),
  detail: Type.Record(Type.String(), Type.Unknown()),
})
export type RiskFactor = Static<typeof RiskFactor>

export const RiskAlert = Type.Object({
  id: Type.String({ format: 'uuid' }),
  type: Type.Literal('risk.alert'),
  version: Type.Literal(1),
  occurredAt: Type.String(),
  userId: Type.String(),
  data: Type.Object({
    score: Type.Integer({ minimum: 0, maximum: 100 }),
    /**
     * The score of the same window counting only what a holder of the user's password or tokens produced
     * (their sessions' logins and refreshes, with their IPs and devices; revocations and reuse detections,
     * without the revoker's or replayer's address; never failed logins, device mismatches or anything else
     * a stranger can cause). Automatic actions compare with this, never `score`.
     * Alerts from workers older than this field decode with 0 (see decodeAlert).
     */
    holderScore: Type.Integer({ minimum: 0, maximum: 100 }),
    factors: Type.Array(RiskFactor),
  }),
})
export type RiskAlert = Static<typeof RiskAlert>
