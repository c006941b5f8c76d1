// ESLint for the server, tests, benches and the dashboard SPA: typescript-eslint's recommended
// rules plus the type-aware ones that catch what strict TypeScript does not (a promise nobody
// awaits, a value computed and dropped). `npm run lint` runs it with --max-warnings 0.
import tseslint from 'typescript-eslint';
import reactHooks from 'eslint-plugin-react-hooks';

export default tseslint.config(
  { ignores: ['bin/**', 'dist/**', 'node_modules/**', 'test-artifacts/**', 'src/dashboard/web/vite.config.ts', 'eslint.config.js'] },
  ...tseslint.configs.recommended,
  {
    files: ['src/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    ignores: ['src/dashboard/web/**'],
    languageOptions: { parserOptions: { project: './tsconfig.json', tsconfigRootDir: import.meta.dirname } },
  },
  {
    files: ['src/dashboard/web/src/**/*.{ts,tsx}'],
    languageOptions: { parserOptions: { project: './src/dashboard/web/tsconfig.json', tsconfigRootDir: import.meta.dirname } },
    plugins: { 'react-hooks': reactHooks },
    rules: { 'react-hooks/rules-of-hooks': 'error', 'react-hooks/exhaustive-deps': 'warn' },
  },
  {
    files: ['src/**/*.{ts,tsx}', 'test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      // node:test's describe/it return promises the runner itself awaits.
      '@typescript-eslint/no-floating-promises': ['error', { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite', 'before', 'after', 'beforeEach', 'afterEach'] }] }],
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-unused-expressions': 'error',
      // A closure registered before the value exists (a shutdown step) reads it later: that is a let.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
    },
  },
);
