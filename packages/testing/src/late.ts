/**
 * Stands for the object `get` returns once a `beforeAll` has made it, so a test file can name it at module
 * scope (`const { app } = useTestApp(...)`); its methods are bound to it. A use before then throws, naming
 * `what`.
 */
export function late<T extends object>(what: string, get: () => T | undefined): T {
  return new Proxy({} as T, {
    get(_, prop) {
      const target = get()
      if (target === undefined) throw new Error(`${what} is used before beforeAll made it (.${String(prop)})`)
      const value = Reflect.get(target, prop, target)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}
