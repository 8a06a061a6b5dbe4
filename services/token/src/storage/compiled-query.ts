import type { Compilable, CompiledQuery } from 'kysely'

/**
 * A query compiled once, each call binding its own value where `placeholder` stands. Binding is by position, so
 * the compiled query must have exactly that one parameter: anything else (a second parameter, a constant kysely
 * turned into one) would bind the value in the wrong place, and is refused when the query is built.
 */
export function compileWithOneParameter<R>(
  query: Compilable<R>,
  placeholder: unknown,
): (value: unknown) => CompiledQuery<R> {
  const compiled = query.compile()
  const { parameters } = compiled
  if (parameters.length !== 1 || parameters[0] !== placeholder)
    throw new Error(
      `a query compiled once must have exactly one parameter, its placeholder; it has ${parameters.length}` +
        `${parameters.length === 1 ? ' (not the placeholder)' : ''}: ${compiled.sql}`,
    )
  return (value) => ({ ...compiled, parameters: [value] })
}
