import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import openapiTS, { astToString } from 'openapi-typescript'
import ts from 'typescript'

type Operation = { responses?: Record<string, { description?: string; content?: Record<string, unknown> }> }
export type OpenApiDocument = {
  openapi: string
  paths: Record<string, Record<string, Operation>>
  components?: { schemas?: Record<string, unknown> }
}

/**
 * Generates the TypeScript client types of an OpenAPI document with openapi-typescript (what a client team
 * would run), then type-checks each program against them (`import type { paths, components } from
 * './api'`). Returns the compiler's errors per program: [] is a program that compiles.
 */
export async function typecheckAgainst(
  document: OpenApiDocument,
  programs: Record<string, string>,
): Promise<Record<string, string[]>> {
  const dir = await mkdtemp(join(tmpdir(), 'openapi-client-'))
  try {
    await writeFile(join(dir, 'api.ts'), astToString(await openapiTS(document as never)))
    const files = Object.keys(programs).map((name) => join(dir, `${name}.ts`))
    await Promise.all(
      Object.entries(programs).map(([name, text]) => writeFile(join(dir, `${name}.ts`), text)),
    )
    const program = ts.createProgram(files, {
      strict: true,
      noEmit: true,
      noUnusedLocals: false,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      lib: ['lib.es2022.d.ts'],
      types: [],
      skipLibCheck: true,
    })
    const out: Record<string, string[]> = {}
    for (const name of Object.keys(programs)) {
      const file = program.getSourceFile(join(dir, `${name}.ts`))!
      out[name] = ts
        .getPreEmitDiagnostics(program, file)
        .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'))
    }
    return out
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/** Every response of every operation, for checks that apply to all of them. */
export function* responsesOf(document: OpenApiDocument) {
  for (const [path, item] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      for (const [status, response] of Object.entries(operation.responses ?? {}))
        yield { path, method, status, response }
    }
  }
}
