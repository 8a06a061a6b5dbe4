/**
 * A server-sent-events reader over fetch: EventSource cannot send an Authorization header, and the bearer
 * token must never travel in a URL. Calls `onMessage` per event; resolves when the server closes the stream.
 */
export type SseMessage = { event: string; id?: string; data: string }

export async function readSse(
  response: Response,
  onMessage: (message: SseMessage) => void,
  signal: AbortSignal,
): Promise<void> {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader()
  signal.addEventListener('abort', () => reader.cancel().catch(() => {}), { once: true })
  let buffer = ''
  for (;;) {
    const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }))
    if (done) return
    buffer += value
    let end = buffer.search(/\r?\n\r?\n/)
    while (end >= 0) {
      const block = buffer.slice(0, end)
      buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, '')
      const message = parseBlock(block)
      if (message) onMessage(message)
      end = buffer.search(/\r?\n\r?\n/)
    }
  }
}

function parseBlock(block: string): SseMessage | undefined {
  let event = 'message'
  let id: string | undefined
  const data: string[] = []
  for (const line of block.split(/\r?\n/)) {
    if (line.startsWith(':')) continue
    const colon = line.indexOf(':')
    const field = colon < 0 ? line : line.slice(0, colon)
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '')
    if (field === 'event') event = value
    else if (field === 'id') id = value
    else if (field === 'data') data.push(value)
  }
  if (data.length === 0) return undefined
  return id === undefined ? { event, data: data.join('\n') } : { event, id, data: data.join('\n') }
}
