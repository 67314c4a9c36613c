import { neostandard, resolveIgnoresFromGitignore } from 'neostandard'

/**
 * The Fastify ecosystem's style (neostandard: standard, for flat config and TypeScript), with two
 * project choices: wire names are the providers' snake_case (to_email, payment_request_id), so
 * camelcase is off; and lines stop at 160 characters. `pnpm lint` runs it; the test command too.
 */
export default [
  ...neostandard({
    ts: true,
    env: ['browser'],
    ignores: [...resolveIgnoresFromGitignore(), 'pnpm-lock.yaml', 'packages/cli/test/client/gateway.d.ts']
  }),
  {
    rules: {
      camelcase: 'off',
      // `void promise` marks a promise left to run on purpose (its errors handled inside).
      'no-void': ['error', { allowAsStatement: true }],
      // Misreads flags that another function or a callback sets (while (!stopped) …): every hit was one.
      'no-unmodified-loop-condition': 'off',
      // Warns, for now: about 120 lines are longer; they are shortened as their files are touched.
      '@stylistic/max-len': ['warn', { code: 160, ignoreUrls: true, ignoreStrings: true, ignoreTemplateLiterals: true, ignoreRegExpLiterals: true }]
    }
  }
]
