// Lint: typescript-eslint's strict, type-checked rules everywhere, React's
// hooks rules for the web app. `pnpm test` runs `eslint .` before the tests.
import js from '@eslint/js'
import { defineConfig, globalIgnores } from 'eslint/config'
import reactHooks from 'eslint-plugin-react-hooks'
import globals from 'globals'
import tseslint from 'typescript-eslint'

export default defineConfig(
  // The consumer fixtures are a project of their own, type-checked strictly by test/consumer;
  // the client types are openapi-typescript's output, held to it by test/openapi-client.
  globalIgnores(['**/dist/', '**/node_modules/', 'coverage/', '**/.data/', 'bench/.tmp/', 'test/consumer/fixtures/', 'apps/api/client/schema.ts']),
  js.configs.recommended,
  tseslint.configs.strictTypeChecked,
  tseslint.configs.stylisticTypeChecked,
  {
    languageOptions: {
      globals: globals.node,
      // Each file is checked with the tsconfig.json nearest to it.
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // Template literals print numbers and booleans as expected.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      // `onClick={() => setOpen(false)}`, `() => resolve()`: a shorthand arrow's value is never used.
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true }],
      // An empty arrow or method is a deliberate no-op: a swallowed rejection, a silent logger `{ warn() {} }`.
      '@typescript-eslint/no-empty-function': ['error', { allow: ['arrowFunctions', 'methods'] }],
      // Contradicts strict's no-non-null-assertion, which wins: it asks for `!` where that one forbids it.
      '@typescript-eslint/non-nullable-type-assertion-style': 'off',
      // An empty environment variable means unset: `env.HOST?.trim() || '127.0.0.1'`.
      '@typescript-eslint/prefer-nullish-coalescing': ['error', { ignorePrimitives: { string: true } }],
      // `let stop` is read by a handler declared before the value it is given.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      // `_` names what is there only to be skipped: `for (const _ in o)`, `[, b]`, `(_, i) =>`.
      '@typescript-eslint/no-unused-vars': ['error', { varsIgnorePattern: '^_', argsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
    },
  },
  {
    // In tests a value of the wrong shape fails the test itself: response bodies
    // are read as `any` and `rows[0]!` states what the test expects; `let x: T`
    // set in beforeAll is read as `x?.` in afterAll (it runs when beforeAll
    // failed); a stub of an async interface is `async () => value`. Benchmarks
    // likewise index the samples they just took.
    files: ['**/*.test.ts', 'test/**', 'bench/**', 'packages/audit-core/testing/**', 'apps/api/test-support/**'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unnecessary-condition': 'off',
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    // The id's hot path indexes a 256-entry table with masked bytes: `!` is exact, a check or a Buffer costs 2x.
    files: ['packages/audit-core/src/uuid7.ts'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off' },
  },
  {
    files: ['apps/web/src/**/*.{ts,tsx}'],
    extends: [reactHooks.configs.flat.recommended],
    languageOptions: { globals: globals.browser },
  },
  {
    // Plain JavaScript (this file, scripts/) is not in any tsconfig.
    files: ['**/*.{js,mjs}'],
    extends: [tseslint.configs.disableTypeChecked],
  },
)
