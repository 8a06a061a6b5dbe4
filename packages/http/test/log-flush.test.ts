import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const fixture = fileURLToPath(new URL('./fixtures/log-then-exit.ts', import.meta.url))

/** Runs the fixture with stdout a pipe (as under a log collector): its stdout lines and exit code. */
function run(how: string): Promise<{ lines: string[]; code: number | null; signal: string | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fixture, how], { stdio: ['ignore', 'pipe', 'ignore'] })
    let out = ''
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8')
    })
    child.on('error', reject)
    child.on('close', (code, signal) => resolve({ lines: out.split('\n').filter(Boolean), code, signal }))
  })
}

// The buffered stdout (logger.ts) holds up to 4 KiB for up to 100 ms. A process that ends inside that
// time must still write every line: the lines just before a crash or a forced shutdown are the ones an
// operator (or an auditor) needs. Before the fix each of these lost both lines.
describe('buffered log lines survive the end of the process', () => {
  it.each([
    ['process.exit(0) after a graceful close', 'exit', 0],
    ['process.exit(1) when the shutdown deadline fires', 'deadline', 1],
    ['an uncaught exception', 'throw', 1],
    ['an unhandled rejection', 'reject', 1],
  ])('%s', async (_, how, code) => {
    const res = await run(how)
    expect(res.code).toBe(code)
    const msgs = res.lines.map((l) => (JSON.parse(l) as { msg: string }).msg)
    expect(msgs).toEqual(['first line', 'last line before the end'])
  })
})

// A process killed by a signal it has no handler for (or aborting, or out of memory) runs no 'exit' handler:
// what the buffer holds is lost. A line at warn or above is written at once, with every line held before it.
describe('a warn line is written at once, whatever ends the process next', () => {
  it.each([
    ['SIGTERM without a handler', 'sigterm', 'SIGTERM'],
    ['process.abort()', 'abort', 'SIGABRT'],
  ])('%s', async (_, how, signal) => {
    const res = await run(how)
    expect(res.signal).toBe(signal)
    const msgs = res.lines.map((l) => (JSON.parse(l) as { msg: string }).msg)
    expect(msgs).toEqual(['first line', 'last line before the end'])
  })
})
