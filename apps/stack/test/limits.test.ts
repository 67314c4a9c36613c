/**
 * Body size limits on every POST/PUT/PATCH route of every server in the stack (the gateway and
 * each service, emulators included): an oversized body is refused with a 413 (in our envelope on
 * our own routes, in the provider's on an emulator's), never a 500 or a hang. Two ways in: an
 * honest Content-Length over the limit (refused before reading: the 413 always arrives), and a
 * chunked body with no length that just keeps coming (cut off once the limit is crossed: a 413, or
 * a reset that drops it when the client is still writing as the server closes).
 */
import t from 'tap'
import net from 'node:net'
import { SERVICES, type ServiceName } from '@switchboard/service-kit/services'
import { admin, api, startStack } from './helper.ts'

/** Far above every route's limit (the largest is the bulk email route's 64 MiB). */
const CLAIMED_BYTES = 200 * 1024 * 1024
/** A chunked body stops here if nothing refused it: no route accepts this much. */
const STREAM_CAP_BYTES = 96 * 1024 * 1024
const ANSWER_WITHIN_MS = 20_000

interface Answer { status: number, body: any, sent: number, ms: number }

/**
 * Sends a body of `claimed` bytes (Content-Length) or, with claimed undefined, a chunked body,
 * writing until the server answers, over a raw socket: a server that answers and closes while the
 * body is still coming makes the writes fail (EPIPE), and the answer must still be read.
 */
function oversized (url: string, method: string, headers: Record<string, string>, claimed?: number): Promise<Answer> {
  const started = performance.now()
  const u = new URL(url)
  return new Promise((resolve, reject) => {
    let sent = 0
    let received = Buffer.alloc(0)
    let settled = false
    const socket = net.connect(Number(u.port), u.hostname)
    const timer = setTimeout(() => finish(new Error(`no answer within ${ANSWER_WITHIN_MS} ms (${sent} bytes sent)`)), ANSWER_WITHIN_MS)
    const answer = (): Answer | undefined => {
      const end = received.indexOf('\r\n\r\n')
      if (end < 0) return undefined
      const head = received.subarray(0, end).toString()
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? NaN)
      const bodyBytes = received.subarray(end + 4)
      if (Number.isFinite(length) && bodyBytes.length < length) return undefined
      const text = bodyBytes.toString()
      let body: unknown = text
      try { body = JSON.parse(text) } catch {}
      return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), body, sent, ms: performance.now() - started }
    }
    function finish (err?: Error): void {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.destroy()
      const a = answer()
      if (a) resolve(a)
      else if (err) reject(err)
      // The server refused and closed while the body kept coming: its kernel then resets the
      // connection, and a reset drops the answer still unread on this side (Node's HTTP server
      // does no lingering close). The upload was cut off all the same.
      else resolve({ status: 0, body: undefined, sent, ms: performance.now() - started })
    }
    socket.on('data', d => {
      received = Buffer.concat([received, d])
      if (answer()) finish()
    })
    socket.on('error', () => {}) // EPIPE/ECONNRESET once the server refused: the answer decides
    socket.on('close', () => finish())
    const chunk = Buffer.alloc(256 * 1024, 0x20) // spaces: valid JSON whitespace, if anyone parses it
    const frame = claimed === undefined ? Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]) : chunk
    const lines = [`${method} ${u.pathname}${u.search} HTTP/1.1`, `host: ${u.host}`, 'content-type: application/json',
      claimed === undefined ? 'transfer-encoding: chunked' : `content-length: ${claimed}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)]
    socket.write(lines.join('\r\n') + '\r\n\r\n')
    const pump = () => {
      while (!settled && !socket.destroyed && sent < Math.min(claimed ?? STREAM_CAP_BYTES, STREAM_CAP_BYTES)) {
        sent += chunk.length
        if (!socket.write(frame)) { socket.once('drain', pump); return }
      }
      if (!settled && !socket.destroyed && claimed === undefined) socket.write('0\r\n\r\n')
    }
    pump()
  })
}

/** POST/PUT/PATCH routes of a Fastify app, from printRoutes' tree. */
function bodyRoutes (tree: string): Array<{ method: string, path: string }> {
  const out: Array<{ method: string, path: string }> = []
  const stack: string[] = []
  for (const line of tree.split('\n')) {
    const m = /^([│ ]*)[├└]── (.*?)(?: \(([A-Z, ]+)\))?$/.exec(line)
    if (!m) continue
    const depth = m[1]!.length / 4
    stack.length = depth
    const path = (stack[depth - 1] ?? '') + m[2]!
    stack[depth] = path
    for (const method of (m[3] ?? '').split(', ')) if (['POST', 'PUT', 'PATCH'].includes(method)) out.push({ method, path })
  }
  return out
}

t.test('every body-taking route of every server refuses an oversized body: 413, no 500, no hang', async t => {
  const { stack, urls } = await startStack(t)
  let checked = 0
  let resets = 0
  for (const server of stack.servers) {
    const routes = bodyRoutes(server.app.printRoutes({ commonPrefix: false }))
    t.ok(routes.length > 0, `${server.name}: ${routes.length} routes take a body`)
    const emulator = server.name === 'gateway' ? undefined : SERVICES[server.name as ServiceName].emulatorPrefix
    for (const route of routes) {
      const path = route.path.replace(/:[^/]+/g, '00000000-0000-4000-8000-000000000000').replace(/\*$/, 'x')
      const auth = path.startsWith('/api/admin') ? admin : path.startsWith('/api/') ? api : {}
      for (const claimed of [CLAIMED_BYTES, undefined]) {
        const what = `${server.name} ${route.method} ${route.path} (${claimed ? 'Content-Length over the limit' : 'chunked, no length'})`
        let answer: Answer
        try {
          answer = await oversized(urls[server.name] + path, route.method, auth, claimed)
        } catch (err) {
          t.fail(`${what}: ${(err as Error).message}`)
          continue
        }
        checked++
        const ours = emulator === undefined || !path.startsWith(emulator)
        if (answer.status === 0) {
          t.ok(claimed === undefined && answer.sent < STREAM_CAP_BYTES, `${what}: cut off after ${(answer.sent / 1048576).toFixed(1)} MiB (connection reset before the 413 could be read)`)
          resets++
          continue
        }
        // Refused for the body's size, or earlier for something that does not need the body (a
        // provider emulator's missing credentials, an unknown id): anything but a 5xx.
        if (answer.status !== 413) {
          t.ok(answer.status >= 400 && answer.status < 500, `${what}: refused before reading (${answer.status} ${JSON.stringify(answer.body).slice(0, 160)})`)
          continue
        }
        t.pass(`${what}: 413 after ${(answer.sent / 1048576).toFixed(1)} MiB, in ${answer.ms.toFixed(0)} ms`)
        if (ours) t.match(answer.body, { statusCode: 413, code: /^[A-Z]+_PAYLOAD_TOO_LARGE$/, error: 'Payload Too Large', message: String, requestId: String }, `${what}: our envelope`)
        else t.ok(answer.body && typeof answer.body === 'object', `${what}: the provider's JSON envelope`)
      }
    }
  }
  t.comment(`${checked} oversized requests; ${resets} chunked ones were reset before their 413 could be read`)
})
