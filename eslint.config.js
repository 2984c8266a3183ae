// Type-aware lint: floating/misused promises, exhaustive switches, type-only imports, no default
// exports, and no reaching into another lib's internals (import '@rota/x', never '@rota/x/src/..').
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/node_modules/**', '.cache/**', '.run/**', 'infra/grafana/**'] },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.base],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false, attributes: false } }],
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': ['error', { selector: 'ExportDefaultDeclaration', message: 'Use named exports.' }],
      'no-restricted-imports': ['error', { patterns: [{ group: ['@rota/*/src/*', '@rota/*/src'], message: "Import a lib through its index ('@rota/name')." }] }],
    },
  },
  { files: ['**/vitest.config.ts'], rules: { 'no-restricted-syntax': 'off' } },
);
