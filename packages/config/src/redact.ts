// Configuration errors end up in tickets and chat: no message of this package may carry a secret that a
// value held. URLs carry them in the userinfo and in query parameters, and a malformed URL is exactly the
// value that gets printed, so the search below does not rely on the value parsing.

/** Query parameters whose value is a secret (`password=`, `auth_token=`, `sslkey_passphrase=`, …). */
const SECRET_PARAM = /pass|pwd|secret|token|auth|credential|key/i

/** Variables whose whole value is a secret. */
export const SECRET_NAME = /SECRET|PASSWORD|PASSWD|CREDENTIAL|PRIVATE/i

/**
 * The secret parts of a raw value, malformed or not: everything between the userinfo's first `:` and the
 * last `@` (the whole userinfo without a `:`), and the values of secret-named query parameters.
 */
export function secretsIn(raw: string): string[] {
  const found: string[] = []
  const at = raw.lastIndexOf('@')
  if (at > 0) {
    const scheme = raw.indexOf('://')
    const userinfo = raw.slice(scheme >= 0 && scheme < at ? scheme + 3 : 0, at)
    const colon = userinfo.indexOf(':')
    found.push(colon >= 0 ? userinfo.slice(colon + 1) : userinfo)
  }
  for (const m of raw.matchAll(/[?&;]([^=&#?;]*)=([^&#;]*)/g)) {
    if (SECRET_PARAM.test(m[1]!)) found.push(m[2]!)
  }
  // The percent-decoded spelling too, in case a message shows the value decoded.
  const decoded = found.map((s) => {
    try {
      return decodeURIComponent(s)
    } catch {
      return s
    }
  })
  return [...new Set([...found, ...decoded])].filter((s) => s.length > 0).sort((a, b) => b.length - a.length)
}

/** `text` with each of `secrets` (longest first) replaced by `***`. */
export function scrub(text: string, secrets: string[]): string {
  let out = text
  for (const s of secrets) out = out.split(s).join('***')
  return out
}

/**
 * Masks URL-shaped secrets anywhere in free text: `scheme://user:password@` → `scheme://user:***@` and
 * `password=…` style query parameters → `password=***`.
 */
export function redactSecrets(text: string): string {
  return text
    .replace(/([a-z][a-z0-9+.-]*:\/\/[^\s:@/"']*):[^\s"']*@/gi, '$1:***@')
    .replace(/([?&;][^=&#?;\s"']*=)([^&#;\s"']*)/g, (all, name: string) =>
      SECRET_PARAM.test(name) ? `${name}***` : all,
    )
}
