// Which origin a request goes to, decided the way fetch decides it. Security-relevant: a bearer token must
// reach only trusted origins, so every doubt (an unparsable URL, an engine whose URL class lacks `origin`, as
// in older React Native) answers "unknown", and unknown is never trusted.

const DEFAULT_PORTS: Record<string, string> = { 'http:': '80', 'https:': '443' }

/** The page's address in a browser (relative URLs resolve against it), undefined elsewhere. */
export function pageUrl(): string | undefined {
  const href = (globalThis as { location?: { href?: unknown } }).location?.href
  return typeof href === 'string' ? href : undefined
}

/** `scheme://host[:port]` of an http(s) URL, lower-case, default port dropped; undefined when unsure. */
export function originOf(url: string, base = pageUrl()): string | undefined {
  try {
    const parsed = new URL(url, base)
    if (parsed.protocol in DEFAULT_PORTS && typeof parsed.origin === 'string') return parsed.origin
    return undefined
  } catch {
    return strictOrigin(url)
  }
}

/**
 * For engines without a working URL class: only the plainest absolute http(s) URL has an origin here
 * (no userinfo, no backslash, nothing odd before the path). Anything else is unknown.
 */
function strictOrigin(url: string): string | undefined {
  const m = /^(https?):\/\/([a-z0-9.-]+|\[[0-9a-f:.]+\])(?::(\d{1,5}))?(?=[/?#]|$)/i.exec(url)
  if (!m) return undefined
  const scheme = `${m[1]!.toLowerCase()}:`
  const port = m[3] === undefined || m[3] === DEFAULT_PORTS[scheme] ? '' : `:${Number(m[3])}`
  return `${scheme}//${m[2]!.toLowerCase()}${port}`
}

/** An `allowedOrigins` entry, normalised; a TypeError for anything that is not exactly an origin. */
export function parseOrigin(entry: string): string {
  const origin = originOf(entry, undefined)
  const bare = /^[a-z][a-z0-9+.-]*:\/\/[^/?#@]+\/?$/i.test(entry)
  if (!origin || !bare) {
    throw new TypeError('createAuthClient: allowedOrigins entries are origins, like https://api.example.com')
  }
  return origin
}
