import t from 'tap'
import { execFile } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import openapiTS, { astToString } from 'openapi-typescript'
import { startSwitchboard } from '../src/index.ts'

/**
 * A typed TypeScript client generated from the gateway's OpenAPI document (openapi-typescript +
 * openapi-fetch) compiles, and calls every operation against a real stack with the answers the
 * document promises. test/client/calls.ts is typed by operationId, so an operation it leaves out,
 * or a body the document does not describe, fails the compile.
 */
const run = promisify(execFile)
const here = resolve(import.meta.dirname, 'client')
t.setTimeout(300_000)

t.test('a client generated from /docs/json compiles and calls every operation', async t => {
  const sb = await startSwitchboard({ seed: 11 })
  t.teardown(() => sb.close())
  const doc = await (await fetch(`${sb.url}/docs/json`)).json() as { paths: Record<string, Record<string, { operationId: string, responses: Record<string, unknown> }>> }

  // defaultNonNullable off: a request field with a default may still be left out.
  writeFileSync(join(here, 'gateway.d.ts'), astToString(await openapiTS(doc as never, { defaultNonNullable: false })))
  const tsc = await run(process.execPath, [resolve(import.meta.dirname, '../node_modules/typescript/bin/tsc'), '-p', join(here, 'tsconfig.json')])
    .then(() => '', (e: { stdout: string }) => e.stdout)
  t.equal(tsc, '', 'the client compiles against the generated types')

  // Through a variable: the package's own type check must not follow it to the generated file.
  const calls = './client/calls.ts'
  const { callEveryOperation } = await import(calls) as { callEveryOperation: (url: string, apiToken: string, adminToken: string) => Promise<Record<string, number>> }
  const answered = await callEveryOperation(sb.url, sb.apiToken, sb.adminToken)
  const documented = Object.fromEntries(Object.values(doc.paths).flatMap(item => Object.values(item)).map(op => [op.operationId, Object.keys(op.responses)]))
  t.same(Object.keys(answered).sort(), Object.keys(documented).sort(), 'every operation in the document was called')
  for (const [id, status] of Object.entries(answered)) {
    t.ok(documented[id]?.includes(String(status)), `${id} answered ${status}, a status the document lists`)
    // Webhooks are the providers' to call, with their signatures: unsigned, they are refused.
    if (id.startsWith('receive')) t.ok(status >= 400 && status < 500, `${id} refuses an unsigned, empty call (${status})`)
    else t.ok(status >= 200 && status < 300, `${id} succeeded (${status})`)
  }
})
