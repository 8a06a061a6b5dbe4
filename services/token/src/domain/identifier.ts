export type Identifier = { value: string; kind: 'email' | 'phone' }

const E164 = /^\+[1-9]\d{6,14}$/
// Deliberately simple: one @, no spaces or controls, a dot in the domain. Deliverability is the mailer's job.
const EMAIL = /^[^\s@\p{Cc}\p{Cf}]{1,64}@[^\s@.\p{Cc}\p{Cf}]+(\.[^\s@.\p{Cc}\p{Cf}]+)+$/u
// What a person types between the digits of a phone number.
const PHONE_PUNCTUATION = /[\s\-().]/g

/**
 * Case folding as Unicode's NFKC_Casefold approximates it with what JavaScript has: upper- then lower-casing
 * maps `ß` to `ss` (which `toLowerCase` alone keeps apart), final `ς` folds to `σ`, and NFKC before and after
 * folds compatibility forms (fullwidth letters, ligatures, `K` Kelvin sign) into their plain letters.
 */
function caseFold(s: string): string {
  return s.normalize('NFKC').toUpperCase().toLowerCase().replace(/ς/g, 'σ').normalize('NFKC')
}

/**
 * The one normal form of an identifier, computed once before any lookup or counter; the database then
 * compares it byte for byte (binary collation). Emails: NFKC and case-folded. Phone numbers: NFKC (so
 * fullwidth digits count as digits), without spaces, dashes, dots or brackets, E.164. Anything else is not
 * an identifier. Two spellings are one account only if they normalise to the same string.
 */
export function normaliseIdentifier(raw: string): Identifier | undefined {
  // A lone surrogate would be stored as U+FFFD: two different strings, one stored identifier.
  if (/\p{Cs}/u.test(raw)) return undefined
  const trimmed = raw.normalize('NFKC').trim()
  if (trimmed.includes('@')) {
    const value = caseFold(trimmed)
    return EMAIL.test(value) && value.length <= 254 ? { value, kind: 'email' } : undefined
  }
  const value = trimmed.replace(PHONE_PUNCTUATION, '')
  return E164.test(value) ? { value, kind: 'phone' } : undefined
}
