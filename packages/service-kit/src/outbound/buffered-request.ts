import type { IncomingHttpHeaders } from 'node:http'
import { errors, type Dispatcher } from 'undici'

export interface BufferedResponse {
  statusCode: number
  /** Lower-case names; a repeated header (set-cookie) is an array. */
  headers: IncomingHttpHeaders
  body: Buffer
}

/**
 * One HTTP request through an undici dispatcher (its pool, keep-alive and timeouts), the answer
 * collected into one Buffer. This is undici's request() without the Readable stream that wraps
 * every response body there: every hop on a mock-mode path (gateway → service, service →
 * emulator, emulator → webhook receiver) is such a call with a small JSON answer read whole, and
 * on loopback the stream was about a quarter of the client's CPU per call (10–15 µs of 40–50).
 *
 * Rejects with undici's own errors (HeadersTimeoutError, SocketError, ConnectTimeoutError, ...),
 * as request() does. `maxBytes` bounds a kept answer: past it the request is aborted with undici's
 * ResponseExceededMaxSizeError, so a misbehaving upstream cannot fill memory. With `keepBody:
 * false` the answer is read and dropped (only the status and headers matter, as for a webhook
 * receiver's answer) and `body` is empty.
 */
export function bufferedRequest (dispatcher: Dispatcher, opts: Dispatcher.DispatchOptions, { maxBytes = 64 * 1024 * 1024, keepBody = true }: { maxBytes?: number, keepBody?: boolean } = {}): Promise<BufferedResponse> {
  return new Promise((resolve, reject) => {
    let statusCode = 0
    let headers: IncomingHttpHeaders = {}
    const chunks: Buffer[] = []
    let size = 0
    dispatcher.dispatch(opts, {
      onRequestStart () {},
      onResponseStart (_controller, status, responseHeaders) {
        statusCode = status
        headers = responseHeaders
      },
      onResponseData (controller, chunk) {
        if (!keepBody || controller.aborted) return
        size += chunk.length
        if (size > maxBytes) {
          controller.abort(new errors.ResponseExceededMaxSizeError(`the answer from ${String(opts.origin)} is larger than ${maxBytes} bytes`))
          return
        }
        chunks.push(chunk)
      },
      onResponseEnd () {
        resolve({ statusCode, headers, body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size) })
      },
      onResponseError (_controller, err) {
        reject(err)
      }
    })
  })
}
