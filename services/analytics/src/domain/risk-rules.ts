/**
 * The risk table of docs/api.md: points per factor are fixed by the contract; the window and the thresholds
 * are configuration (these defaults are the contract's).
 */
export type RiskRules = {
  /** Length of the sliding window a score is computed over. */
  windowMs: number
  /** `suspicious` is `riskScore > suspiciousAbove`. */
  suspiciousAbove: number
  /** MULTIPLE_IPS fires at this many distinct IPs or more. */
  multipleIps: number
  /** RAPID_ACTIVITY fires above this many logins, refreshes or failed logins within `rapidWindowMs`. */
  rapidActivity: number
  rapidWindowMs: number
  /** TOKEN_REVOCATIONS fires at this many revocations whose reason is not `logout`, or more. */
  revocations: number
  multipleDevices: number
  tokenReuse: number
  failedLogins: number
}

export const DEFAULT_RISK_RULES: RiskRules = Object.freeze({
  windowMs: 24 * 3600_000,
  suspiciousAbove: 50,
  multipleIps: 3,
  rapidActivity: 10,
  rapidWindowMs: 60_000,
  revocations: 1,
  multipleDevices: 3,
  tokenReuse: 1,
  failedLogins: 5,
})

export const FACTOR_POINTS = {
  MULTIPLE_IPS: 30,
  RAPID_ACTIVITY: 25,
  TOKEN_REVOCATIONS: 20,
  MULTIPLE_DEVICES: 15,
  TOKEN_REUSE: 40,
  FAILED_LOGINS: 20,
} as const

export type FactorCode = keyof typeof FACTOR_POINTS

export const MAX_SCORE = 100

/**
 * Distinct IPs and devices of a window are counted up to this many (the contract's table fires at 3 and
 * reports the count): the score and its details are a function of `min(distinct keys, DISTINCT_CAP)`, on
 * the per-point evaluation and in the sweep state alike. That is what bounds the state a stranger can grow
 * for a victim with refused logins from fresh addresses and device ids (domain/sweep-state.ts keeps the
 * `DISTINCT_CAP` most recently seen keys, which is exact up to the cap). `RISK_MULTIPLE_IPS` and
 * `RISK_MULTIPLE_DEVICES` are configured at most this.
 */
export const DISTINCT_CAP = 256

/**
 * The rapid count (the most logins, refreshes and failed logins inside any span shorter than the rapid
 * window) is counted up to this many, for the same reason: the factor fires above `RISK_RAPID_ACTIVITY`
 * (10) and its detail reports the count, and the sweep state keeps the times of the rapid events of the last
 * rapid window to count spans — as many as arrive in a minute. Without the cap a burst (a refresh loop, a
 * flood of refused logins) made the state, rewritten by every batch, grow with it: 15,000 refreshes in a
 * minute for one user was a ~50 KB row and three times the CPU per event. With it the state keeps at most
 * the `RAPID_CAP` latest times (sweep-view.ts `enter`), which is exact up to the cap, and the score and its
 * details are a function of `min(count, RAPID_CAP)` on every path. `RISK_RAPID_ACTIVITY` is configured
 * below it.
 */
export const RAPID_CAP = 256

/** What the security team is advised to do about each factor. */
export const RECOMMENDATIONS: Record<FactorCode, string> = {
  MULTIPLE_IPS: 'Confirm recent sign-ins with the user: the account is used from several networks.',
  RAPID_ACTIVITY: 'Check for automation: logins or refreshes arrive faster than a person works.',
  TOKEN_REVOCATIONS: 'Review why sessions were revoked (reuse, admin or risk revocations).',
  MULTIPLE_DEVICES: 'Ask the user to review their active sessions and revoke unknown devices.',
  TOKEN_REUSE:
    'A stolen refresh token was replayed: revoke all sessions and ask the user to change their password.',
  FAILED_LOGINS: 'Possible password guessing: watch for a successful login after the failures.',
}

export const SUSPICIOUS_RECOMMENDATION =
  'The score is suspicious: consider revoking all sessions (POST /auth/admin/users/:userId/revoke-sessions).'
