import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import { build, type Plugin } from 'esbuild'
import ts from 'typescript'

/**
 * Builds the publishable package into dist/ (`npm pack dist` makes the tarball). Node does not
 * strip types under node_modules, so the workspace's own TypeScript is bundled into JavaScript;
 * third-party packages stay imports and become the package's dependencies, at the catalog's
 * versions. Only for publishing: working in the repo needs no build.
 */
const here = import.meta.dirname
const root = resolve(here, '../..')
const out = join(here, 'dist')
const own = JSON.parse(readFileSync(join(here, 'package.json'), 'utf8'))

/**
 * Files found at run time relative to a source file's own location move in a bundle: each chunk
 * lives in dist/, so the paths are rewritten to where this build puts the files. A rewrite that no
 * longer matches its source fails the build instead of shipping a package that cannot find them.
 */
const REWRITES: Record<string, Array<[from: string, to: string]>> = {
  'packages/activity-log/src/migrations.ts': [["new URL('../../../supabase/migrations/', import.meta.url)", "new URL('./migrations/', import.meta.url)"]],
  'packages/activity-log/src/backends/pglite.ts': [["new URL('./pglite-worker.ts', import.meta.url)", "new URL('./pglite-worker.js', import.meta.url)"]],
  'packages/service-kit/src/emulator/scenarios.ts': [["new URL('../../scenarios/', import.meta.url)", "new URL('./scenarios/', import.meta.url)"]],
  'packages/datasets/src/load.ts': [["join(import.meta.dirname, '..', 'datasets')", "join(import.meta.dirname, 'datasets')"]],
  'apps/gateway/src/admin/index.ts': [
    // eslint-disable-next-line no-template-curly-in-string -- source text to write into the bundle
    ['new URL(file, import.meta.url)', 'new URL(`./admin/${file}`, import.meta.url)'],
    ["new URL('./web/', import.meta.url)", "new URL('./admin/web/', import.meta.url)"]
  ]
}

const catalog = Object.fromEntries([...readFileSync(join(root, 'pnpm-workspace.yaml'), 'utf8').matchAll(/^ {2}"?([@\w./-]+)"?: (\S+)$/gm)].map(m => [m[1]!, m[2]!]))
const dependencies: Record<string, string> = {}

const workspace: Plugin = {
  name: 'switchboard-workspace',
  setup (b) {
    // Third-party packages are dependencies of the package, not part of the bundle.
    b.onResolve({ filter: /^[^./]/ }, args => {
      if (args.path.startsWith('@switchboard/') || args.path.startsWith('node:')) return undefined
      const name = args.path.startsWith('@') ? args.path.split('/').slice(0, 2).join('/') : args.path.split('/')[0]!
      const version = catalog[name]
      if (!version) throw new Error(`${name} (imported by ${relative(root, args.importer)}) is not in the pnpm catalog: add it there so the package can name its version`)
      dependencies[name] = version
      return { path: args.path, external: true }
    })
    const pending = new Set(Object.keys(REWRITES))
    b.onLoad({ filter: /\.ts$/ }, args => {
      const file = relative(root, args.path)
      const rewrites = REWRITES[file]
      if (!rewrites) return undefined
      let source = readFileSync(args.path, 'utf8')
      for (const [from, to] of rewrites) {
        if (!source.includes(from)) throw new Error(`build.ts: ${file} no longer contains ${from}; update REWRITES to how it finds its files now`)
        source = source.replaceAll(from, to)
      }
      pending.delete(file)
      return { contents: source, loader: 'ts' }
    })
    b.onEnd(result => {
      if (result.errors.length === 0 && pending.size) throw new Error(`build.ts: ${[...pending].join(', ')} no longer bundled; drop them from REWRITES`)
    })
  }
}

rmSync(out, { recursive: true, force: true })
await build({
  entryPoints: {
    index: join(here, 'src/index.ts'),
    cli: join(here, 'src/cli.ts'),
    'pglite-worker': join(root, 'packages/activity-log/src/backends/pglite-worker.ts')
  },
  outdir: out,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  chunkNames: 'chunk-[hash]',
  legalComments: 'none',
  logLevel: 'warning',
  plugins: [workspace]
})

mkdirSync(join(out, 'migrations'))
cpSync(join(root, 'supabase/migrations'), join(out, 'migrations'), { recursive: true })
// The example scenarios (the admin API's /scenario/examples, the playground) and the built-in data sets.
cpSync(join(root, 'packages/service-kit/scenarios'), join(out, 'scenarios'), { recursive: true })
cpSync(join(root, 'packages/datasets/datasets'), join(out, 'datasets'), { recursive: true })
mkdirSync(join(out, 'admin'))
// The admin page: its stylesheet and its browser modules (web/*.js), served as they are.
cpSync(join(root, 'apps/gateway/src/admin/app.css'), join(out, 'admin', 'app.css'))
cpSync(join(root, 'apps/gateway/src/admin/web'), join(out, 'admin', 'web'), { recursive: true, filter: src => !src.endsWith('tsconfig.json') })

// The API's types: index.ts declares every exported type explicitly, so one file's declarations
// need no type check of the workspace.
const declarations = ts.transpileDeclaration(readFileSync(join(here, 'src/index.ts'), 'utf8'), { fileName: 'index.ts', compilerOptions: { module: ts.ModuleKind.NodeNext } })
writeFileSync(join(out, 'index.d.ts'), declarations.outputText)

writeFileSync(join(out, 'package.json'), JSON.stringify({
  name: own.name,
  version: own.version,
  description: own.description,
  license: own.license,
  type: 'module',
  bin: { switchboard: './cli.js' },
  exports: { '.': { types: './index.d.ts', default: './index.js' } },
  engines: own.publishConfig.engines,
  dependencies: Object.fromEntries(Object.entries(dependencies).sort())
}, null, 2) + '\n')
cpSync(join(here, 'README.md'), join(out, 'README.md'))
console.log(`built ${relative(root, out)}: ${Object.keys(dependencies).length} dependencies (${Object.keys(dependencies).sort().join(', ')})`)
