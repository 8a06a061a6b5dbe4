import { STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'

/**
 * Errors Node's HTTP parser raises before Fastify sees a request (oversized headers, malformed requests,
 * timeouts), answered in the contract's error shape with a stable code instead of Fastify's default body.
 * Pass as Fastify's `clientErrorHandler`.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return
  const [status, code, message] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'HEADERS_TOO_LARGE', 'request headers are too large']
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'REQUEST_TIMEOUT', 'the request took too long to arrive']
        : [400, 'VALIDATION_FAILED', 'the request is malformed']
  const body = JSON.stringify({ statusCode: status, code, error: STATUS_CODES[status], message })
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `Content-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n${body}`,
    )
  }
  socket.destroy()
}
