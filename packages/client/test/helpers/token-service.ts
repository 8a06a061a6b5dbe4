/**
 * The real token service (services/token) for `against-token-service.test.ts`.
 *
 * Contract for whoever wires it (build it with `buildApp` from `@africhain/token-service`, listen
 * on 127.0.0.1 port 0, real Redis and MariaDB, a database and key prefix of its own):
 * - `ACCESS_TOKEN_TTL` = `options.accessTokenTtl`, `REFRESH_REUSE_GRACE` = `options.reuseGrace`;
 * - rate limits off (the tests log in and refresh far more often than 20 per minute);
 * - `baseUrl` answers the routes of API.md; `close()` closes the app and drops what it created.
 * The tests only speak HTTP to it, so nothing else is needed.
 */
export type TokenServiceOptions = {
  /** Access-token lifetime, in the service's duration syntax (`2s`). */
  accessTokenTtl: string
  /** Reuse grace window (`1s`): a replay after it must answer TOKEN_REUSED. */
  reuseGrace: string
}

export type RunningTokenService = {
  baseUrl: string
  close(): Promise<void>
}

export async function startTokenService(_options: TokenServiceOptions): Promise<RunningTokenService> {
  throw new Error('not wired yet: startTokenService needs @africhain/token-service (see the comment above)')
}
