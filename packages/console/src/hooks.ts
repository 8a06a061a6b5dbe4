import { createContext } from 'preact'
import { useCallback, useContext, useEffect, useRef, useState } from 'preact/hooks'
import type { Api } from './api.ts'

export type Notify = (message: string, kind?: 'ok' | 'error') => void
export type ConsoleContext = { api: Api; notify: Notify; me: { userId: string; roles: string[] } }
export const Ctx = createContext<ConsoleContext | null>(null)

export function useConsole(): ConsoleContext {
  const ctx = useContext(Ctx)
  if (!ctx) throw new Error('useConsole outside the signed-in console')
  return ctx
}

export type Loaded<T> = { data?: T; error?: Error; loading: boolean; reload(): void }

/**
 * Runs `load` when `deps` change (and every `everyMs` when given: the pages that refresh live), keeping the
 * last good data on screen while a reload runs. A stale answer (deps changed meanwhile) is dropped.
 */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[], everyMs?: number): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: Error; loading: boolean }>({ loading: true })
  const generation = useRef(0)
  const run = useCallback(() => {
    const mine = ++generation.current
    setState((s) => ({ ...s, loading: true }))
    load().then(
      (data) => mine === generation.current && setState({ data, loading: false }),
      (error: Error) => mine === generation.current && setState((s) => ({ ...s, error, loading: false })),
    )
  }, deps)
  useEffect(() => {
    run()
    if (!everyMs) return
    const timer = setInterval(run, everyMs)
    return () => clearInterval(timer)
  }, [run, everyMs])
  return { ...state, reload: run }
}
