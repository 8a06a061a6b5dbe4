import { DEFAULT_RISK_RULES, type RiskRules } from '../../src/domain/risk-rules.ts'

/**
 * The risk rules with a one-minute window, a 5 s rapid span, three events for rapid activity and a low alert
 * threshold: short histories cross every boundary (the window's start, a rapid span, the threshold) many times.
 */
export const SHORT_RULES: RiskRules = {
  ...DEFAULT_RISK_RULES,
  windowMs: 60_000,
  rapidWindowMs: 5_000,
  rapidActivity: 3,
  suspiciousAbove: 20,
}
