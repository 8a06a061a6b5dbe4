export type SessionEndedListener = (reason: string) => void

/** The one event the SDK emits. Listener errors are reported, never allowed to break a refresh. */
export class SessionEvents {
  #listeners = new Set<SessionEndedListener>()

  on(listener: SessionEndedListener): () => void {
    // Wrapped so that subscribing the same function twice yields two independent subscriptions.
    const entry: SessionEndedListener = (reason) => listener(reason)
    this.#listeners.add(entry)
    return () => {
      this.#listeners.delete(entry)
    }
  }

  emit(reason: string): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(reason)
      } catch (error) {
        report(error)
      }
    }
  }
}

function report(error: unknown): void {
  const reportError = (globalThis as { reportError?: (e: unknown) => void }).reportError
  if (reportError) reportError(error)
  else
    setTimeout(() => {
      throw error
    })
}
