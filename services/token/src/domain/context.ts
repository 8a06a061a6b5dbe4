/** Who asks and from where: what every use case receives besides its input. */

/** The request's client address and User-Agent, as events record them (empty/null when unknown). */
export type RequestContext = { ip: string; userAgent: string | null }

/** The authenticated caller: the user and the session of the access token. */
export type Caller = { userId: string; sessionId: string }
