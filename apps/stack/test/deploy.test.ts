import t from 'tap'
import { execFileSync } from 'node:child_process'
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parse } from 'yaml'

// There is no Docker engine on these machines: Debian's docker-compose parses and resolves the
// file without one, and the Dockerfile is checked for what a build needs.
const root = resolve(import.meta.dirname, '../../..')
const APPS = ['email', 'whatsapp', 'payments', 'voice', 'zoom', 'gateway']

function resolvedCompose (): any {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-compose-'))
  try {
    for (const f of ['docker-compose.yml', 'docker', 'supabase', 'Dockerfile']) symlinkSync(join(root, f), join(dir, f))
    cpSync(join(root, '.env.example'), join(dir, '.env'))
    return parse(execFileSync('docker-compose', ['-f', join(dir, 'docker-compose.yml'), 'config'], { encoding: 'utf8' }))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

t.test('docker-compose.yml resolves: six apps, the database stack, health checks, ordering', async t => {
  const compose = resolvedCompose()
  const services = compose.services as Record<string, any>
  t.same(Object.keys(services).sort(), [...APPS, 'db', 'postgrest', 'supabase'].sort())
  for (const app of APPS) {
    const s = services[app]
    t.equal(s.build.args.APP, app, `${app} is built from the shared Dockerfile for its own app`)
    t.ok(existsSync(join(root, 'apps', app, 'src', 'server.ts')), `${app} has the entry the image runs`)
    t.ok(s.healthcheck?.test, `${app} has a health check`)
    t.equal(s.environment.SUPABASE_URL, 'http://supabase:8000', `${app} uses the supabase-js backend`)
    t.match(s.environment.SUPABASE_SERVICE_KEY, /^eyJ/, `${app} gets the service key from .env`)
    t.equal(s.environment.HOST, '0.0.0.0')
    t.ok(s.environment.INTERNAL_TOKEN, `${app} gets the internal credential the gateway sends`)
    t.equal(s.environment.ADMIN_TOKEN, services.gateway.environment.ADMIN_TOKEN, `${app} shares the gateway's admin token`)
  }
  for (const app of APPS.filter(a => a !== 'gateway')) {
    t.equal(services.gateway.depends_on[app].condition, 'service_healthy', `gateway waits for ${app} to be healthy`)
    t.equal(services[app].depends_on.supabase.condition, 'service_healthy', `${app} waits for the database API`)
  }
  t.equal(services.postgrest.depends_on.db.condition, 'service_healthy')
  // Only the gateway and the database API are published, and only on loopback.
  const published = Object.entries(services).filter(([, s]) => s.ports).map(([name, s]) => [name, s.ports.map((p: any) => p.host_ip ?? String(p).split(':')[0])])
  t.same(Object.fromEntries(published), { gateway: ['127.0.0.1'], supabase: ['127.0.0.1'] })
  // docker-compose v1 prints short-form volumes (host:container:mode); newer ones print objects.
  const mounts = services.db.volumes.map((v: any) => typeof v === 'string' ? v.split(':')[1] : v.target)
  t.ok(mounts.includes('/docker-entrypoint-initdb.d/migrations'), 'migrations are applied by the database on first start')
})

t.test('the Dockerfile: multi-stage, pinned like the workspace, non-root, every COPY source exists', async t => {
  const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8')
  const bootstrap = readFileSync(join(root, 'scripts/bootstrap.sh'), 'utf8')
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
  t.ok((dockerfile.match(/^FROM /gm) ?? []).length >= 3, 'build stages are separate from the runtime stage')
  const node = /SB_NODE_VERSION="([\d.]+)"/.exec(bootstrap)?.[1]
  t.match(dockerfile, new RegExp(`node:${node!.replaceAll('.', '\\.')}-`), 'same Node as ./switchboard installs')
  t.match(dockerfile, new RegExp(`pnpm@${pkg.packageManager.split('@')[1].replaceAll('.', '\\.')}`), 'same pnpm as packageManager')
  const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '))
  t.match(runtime, /^USER node$/m, 'the runtime stage drops root')
  t.match(runtime, /CMD exec node "apps\/\$\{APP\}\/src\/server.ts"/, 'node is PID 1 and gets the signals')
  for (const m of dockerfile.matchAll(/^COPY (?!--from)(?:--\S+ )*(\S+) /gm)) {
    if (m[1] !== '.') t.ok(existsSync(join(root, m[1]!)), `COPY source ${m[1]} exists`)
  }
  const ignore = readFileSync(join(root, '.dockerignore'), 'utf8')
  for (const p of ['node_modules', '.tools', '.data', '.env']) t.match(ignore, new RegExp(`^${p.replace('.', '\\.')}$`, 'm'), `${p} stays out of the build context`)
})

t.test('the compose migrator applies every migration and records it as the services do', async t => {
  const script = readFileSync(join(root, 'docker/postgres/10-migrate.sh'), 'utf8')
  const migrator = readFileSync(join(root, 'packages/activity-log/src/migrations.ts'), 'utf8')
  t.match(script, /schema_migrations \(version text primary key/)
  t.match(migrator, /schema_migrations \(\s*version\s+text PRIMARY KEY/)
  t.match(script, /for f in \/docker-entrypoint-initdb.d\/migrations\/\*\.sql/)
})
