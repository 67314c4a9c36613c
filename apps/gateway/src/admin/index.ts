import { createHash } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { renderShell } from './page.ts'

/**
 * The admin page: one server-rendered HTML shell, a few vanilla ES modules and one stylesheet, read
 * once at start and served from memory. The shell holds no data, so it needs no token; the module
 * asks for the admin token and calls /api/admin/* with it. Nothing is loaded from anywhere else.
 */

interface Asset { body: string, etag: string, version: string, type: string }

function asset (file: string, type: string): Asset {
  const body = readFileSync(new URL(file, import.meta.url), 'utf8')
  const hash = createHash('sha256').update(body).digest('base64url')
  return { body, etag: `"${hash.slice(0, 27)}"`, version: hash.slice(0, 12), type }
}

/**
 * Only same-origin script, style and fetch; no inline script or style, no framed pages, no plugins.
 * The charts are SVG elements the module creates, which CSP does not treat as loads. An email's
 * HTML is shown in a sandboxed srcdoc frame (no request, no scripts, an opaque origin), which
 * inherits this policy and adds a stricter one of its own. Audio may play from this origin or from
 * an emulator on this machine (a call's recording). The gateway sends it (with the other security
 * headers) through @fastify/helmet, for every page.
 */
export const CSP_DIRECTIVES: Record<string, string[]> = {
  'default-src': ["'none'"],
  'script-src': ["'self'"],
  'style-src': ["'self'"],
  'img-src': ["'self'", 'data:'],
  'connect-src': ["'self'"],
  'media-src': ["'self'", 'http://127.0.0.1:*', 'http://localhost:*'],
  'base-uri': ["'none'"],
  'form-action': ["'self'"],
  'frame-ancestors': ["'none'"]
}
// As helmet writes it (directives joined by ';'), for tests to compare with.
export const CONTENT_SECURITY_POLICY = Object.entries(CSP_DIRECTIVES).map(([k, v]) => `${k} ${v.join(' ')}`).join(';')

const VersionQuery = Type.Object({ v: Type.Optional(Type.String({ maxLength: 64 })) })
// Pages, not API: kept out of the OpenAPI document.
const hide = true

/** The page's browser modules (web/*.js): the shell names main.js, which imports the others. */
function modules (): Map<string, Asset> {
  const dir = new URL('./web/', import.meta.url)
  const files = readdirSync(dir).filter(f => f.endsWith('.js')).sort()
  return new Map(files.map(f => [f, asset(`./web/${f}`, 'text/javascript; charset=utf-8')]))
}

export const adminPage: FastifyPluginAsyncTypebox = async (app) => {
  const js = modules()
  const css = asset('./app.css', 'text/css; charset=utf-8')
  // main.js is named by a hash of every module, so a change to any of them gives the page a new
  // URL; the modules main.js imports by plain name are revalidated (no-cache, etag) on each load.
  const bundleVersion = createHash('sha256').update([...js.values()].map(a => a.etag).join()).digest('base64url').slice(0, 12)
  const main = { ...js.get('main.js')!, version: bundleVersion }
  const html = renderShell({ script: `/admin/main.js?v=${main.version}`, style: `/admin/app.css?v=${css.version}` })
  const htmlEtag = `"${createHash('sha256').update(html).digest('base64url').slice(0, 27)}"`

  // The shell names the assets by content hash, so a versioned asset URL never changes meaning
  // and can be cached for good; an unversioned one is revalidated each time.
  const serve = (a: Asset) => (request: FastifyRequest<{ Querystring: { v?: string } }>, reply: FastifyReply) => {
    reply
      .type(a.type)
      .header('etag', a.etag)
      .header('cache-control', request.query.v === a.version ? 'public, max-age=31536000, immutable' : 'no-cache')
    if (request.headers['if-none-match'] === a.etag) return reply.code(304).send()
    return reply.send(a.body)
  }

  app.get('/admin', { schema: { hide } }, (request, reply) => {
    // The shell is tiny and names the current assets: always revalidate it.
    reply.type('text/html; charset=utf-8').header('etag', htmlEtag).header('cache-control', 'no-cache')
    if (request.headers['if-none-match'] === htmlEtag) return reply.code(304).send()
    return reply.send(html)
  })
  app.get('/admin/', { schema: { hide } }, (_request, reply) => reply.redirect('/admin', 301))
  for (const [file, a] of js) app.get(`/admin/${file}`, { schema: { hide, querystring: VersionQuery } }, serve(file === 'main.js' ? main : a))
  app.get('/admin/app.css', { schema: { hide, querystring: VersionQuery } }, serve(css))
}
