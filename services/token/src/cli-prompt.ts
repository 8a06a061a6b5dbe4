// Passwords for the admin CLI come from a prompt or from standard input, never from the command line:
// argv ends up in shell history, `ps` output and audit logs.

const MAX_INPUT = 4096

/** True when `args` tries to pass a password (`--password x`, `--password=x`, any letter case). */
export const passesPasswordOnArgv = (args: string[]) => args.some((a) => /^--password(=|$)/i.test(a))

/**
 * A password: typed at a hidden prompt (no echo) when standard input is a terminal, asked twice when
 * `confirm`; otherwise the first line of standard input (for scripts: `printf '%s\n' "$pw" | pnpm cli …`).
 */
export async function readPassword(prompt: string, { confirm = false } = {}): Promise<string> {
  if (!process.stdin.isTTY) return firstLineOfStdin()
  const password = await promptHidden(`${prompt}: `)
  if (confirm && (await promptHidden(`${prompt} (again): `)) !== password) {
    throw new Error('the two passwords differ')
  }
  return password
}

async function firstLineOfStdin(): Promise<string> {
  let data = ''
  for await (const chunk of process.stdin) {
    data += (chunk as Buffer).toString('utf8')
    if (data.includes('\n') || data.length > MAX_INPUT) break
  }
  return data.slice(0, MAX_INPUT).split(/\r?\n/)[0] ?? ''
}

/** Reads one line from the terminal in raw mode, echoing nothing (the prompt goes to stderr). */
function promptHidden(prompt: string): Promise<string> {
  const stdin = process.stdin
  process.stderr.write(prompt)
  return new Promise((resolve, reject) => {
    let chars: string[] = []
    const finish = (err?: Error) => {
      stdin.off('data', onData)
      stdin.setRawMode(false)
      stdin.pause()
      process.stderr.write('\n')
      if (err) reject(err)
      else resolve(chars.join(''))
    }
    const onData = (chunk: Buffer) => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return finish()
        if (ch === '\u0003') return finish(new Error('cancelled'))
        if (ch === '\u007f' || ch === '\b') chars = chars.slice(0, -1)
        else if (ch >= ' ' && chars.length < MAX_INPUT) chars.push(ch)
      }
    }
    stdin.setRawMode(true)
    stdin.resume()
    stdin.on('data', onData)
  })
}
