import { useEffect, useState } from 'preact/hooks'

/** The console's pages, addressed by the URL fragment (`#/users/<id>`): the server serves one index.html. */
export type Route =
  | { page: 'overview' }
  | { page: 'flagged' }
  | { page: 'user'; userId: string }
  | { page: 'ip'; ip: string }
  | { page: 'live' }
  | { page: 'report'; date?: string }
  | { page: 'find' }

/** A path segment of the fragment, unescaped; a broken escape (`%E0%A4%A`) is no value, not a crash. */
function decoded(segment: string): string {
  try {
    return decodeURIComponent(segment)
  } catch {
    return ''
  }
}

export function parseRoute(hash: string): Route {
  const [name = '', arg] = hash.replace(/^#\/?/, '').split('/')
  const value = arg ? decoded(arg) : ''
  switch (name) {
    case 'flagged':
    case 'live':
    case 'find':
      return { page: name }
    case 'users':
      return value ? { page: 'user', userId: value } : { page: 'find' }
    case 'ips':
      return value ? { page: 'ip', ip: value } : { page: 'find' }
    case 'report':
      return value ? { page: 'report', date: value } : { page: 'report' }
    default:
      return { page: 'overview' }
  }
}

export const href = {
  user: (userId: string) => `#/users/${encodeURIComponent(userId)}`,
  ip: (ip: string) => `#/ips/${encodeURIComponent(ip)}`,
  report: (date: string) => `#/report/${date}`,
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash))
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(location.hash))
    addEventListener('hashchange', onChange)
    return () => removeEventListener('hashchange', onChange)
  }, [])
  return route
}
