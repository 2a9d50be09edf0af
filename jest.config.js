/** Jest: ts-jest, one embedded Postgres for the whole run (test/support/globalSetup.ts). */
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  globalSetup: '<rootDir>/test/support/globalSetup.ts',
  globalTeardown: '<rootDir>/test/support/globalTeardown.ts',
  testTimeout: 30000,
  maxWorkers: 2,
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }],
    // Keycloak's admin client and its dependencies are ES modules only: compiled to CommonJS for
    // jest's module system (Node itself loads them with require(), from 20.19 on).
    '^.+\\.js$': [
      'ts-jest',
      {
        tsconfig: { allowJs: true, module: 'commonjs', target: 'ES2022', esModuleInterop: true },
        isolatedModules: true,
      },
    ],
  },
  transformIgnorePatterns: [
    '/node_modules/(?!(@keycloak/keycloak-admin-client|@microsoft|@std-uritemplate|url-template|camelize-ts|tinyduration)/)',
  ],
};
