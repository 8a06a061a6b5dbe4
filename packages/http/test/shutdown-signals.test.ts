import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const fixture = fileURLToPath(new URL('./fixtures/shutdown-signals.ts', import.meta.url))

type Signal = 'SIGTERM' | 'SIGINT'

/**
 * Runs the fixture (stdout a pipe, as under a log collector), sends `first` when it is ready and `second`
 * (if any) as soon as its close has begun, then, for the `on-message` close, lets the close finish once the
 * second signal was handled: its exit code and the messages of its lines.
 */
function run(how: string, first: Signal, second?: Signal): Promise<{ code: number | null; msgs: string[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fixture, how], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] })
    let out = ''
    let sentSecond = false
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8')
    })
    child.on('message', (m) => {
      if (m === 'ready') child.kill(first)
      if (m === 'closing' && second) {
        sentSecond = true
        child.kill(second)
      }
      // Latch: the shutdown's listener has handled (or ignored) the second signal; now let the close finish.
      if (how === 'on-message' && sentSecond && m === `signalled:${second}`) child.send('finish')
    })
    child.on('error', reject)
    child.on('close', (code) =>
      resolve({
        code,
        msgs: out
          .split('\n')
          .filter(Boolean)
          .map((l) => (JSON.parse(l) as { msg: string }).msg),
      }),
    )
  })
}

describe('shutdownOnSignals', () => {
  it.each<[string, string, Signal, Signal | undefined, number, string[]]>([
    ['one SIGTERM, close finishes: exit 0', 'now', 'SIGTERM', undefined, 0, ['shutting down']],
    [
      'one SIGTERM, close stuck past the deadline: exit 1',
      'deadline',
      'SIGTERM',
      undefined,
      1,
      ['shutting down'],
    ],
    [
      'a second SIGTERM during a stuck close: exit 1 at once, every line written',
      'never',
      'SIGTERM',
      'SIGTERM',
      1,
      ['shutting down', 'signal during shutdown: exiting now'],
    ],
    [
      'Ctrl-C twice (SIGINT, SIGINT) during a stuck close: exit 1 at once',
      'never',
      'SIGINT',
      'SIGINT',
      1,
      ['shutting down', 'signal during shutdown: exiting now'],
    ],
    [
      // What `pnpm start` does on one Ctrl-C: the terminal's SIGINT, then start-all's SIGTERM.
      'SIGINT then SIGTERM: the drain is not cut short and ends with exit 0',
      'on-message',
      'SIGINT',
      'SIGTERM',
      0,
      ['shutting down'],
    ],
  ])('%s', async (_, how, first, second, code, msgs) => {
    expect(await run(how, first, second)).toEqual({ code, msgs })
  })
})
