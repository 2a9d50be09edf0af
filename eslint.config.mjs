// ESLint: typescript-eslint's type-checked rules on everything TypeScript (src, test, bench,
// scripts), the recommended rules on the JavaScript (admin page, migrations, configs). Formatting
// is Prettier's business (.prettierrc.json), not ESLint's. `npm run lint`; `npm test` runs it.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'dist/',
      'node_modules/',
      'coverage/',
      'test-artifacts/',
      '.data/',
      'scratch/',
      'docs/',
      'static/',
      '.forge-cli/',
    ],
  },
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
      globals: globals.node,
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // `_name` marks what is left unused on purpose (an omitted field in a rest pattern, an unused argument).
      // `async` keeps a Promise-returning contract (an interface, a fake) even where nothing is awaited.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
    },
  },
  {
    // Tests and benchmarks read HTTP answers whose bodies are `any` (supertest, fetch().json()):
    // asserting on them is their job, so the any-flow rules stay for src and scripts only.
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.cjs', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
  },
  {
    files: ['migrations/*.js', '*.cjs', 'jest.config.js'],
    languageOptions: { sourceType: 'commonjs', globals: globals.node },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['public/js/**/*.js'],
    languageOptions: { sourceType: 'module', globals: { ...globals.browser, AP: 'readonly' } },
  },
  {
    // The product's code in small pieces (docs/architecture.md, "Code shape"): a file of at most 300
    // lines, a function of at most 80, every line counted.
    files: ['src/**/*.ts', 'public/js/**/*.js'],
    rules: {
      'max-lines': ['error', { max: 300 }],
      'max-lines-per-function': ['error', { max: 80, IIFEs: true }],
    },
  },
);
