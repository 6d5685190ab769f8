// ESM jest: @kubernetes/client-node 1.x is ESM-only, so the whole project is ESM and jest runs
// with --experimental-vm-modules (set by the npm scripts).
const tsJest = ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json', diagnostics: { warnOnly: false } }];
const common = {
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': tsJest },
  testEnvironment: 'node',
};

/** @type {import('jest').Config} */
export default {
  // Each project is a separate jest "project": `--selectProjects unit` runs only the fast tests.
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.js',
      globalTeardown: '<rootDir>/test/support/global-teardown.js',
    },
    {
      // The workflows on a real Temporal dev server (one per file) with in-memory fake activities.
      ...common,
      displayName: 'workflows',
      testMatch: ['<rootDir>/test/workflows/**/*.test.ts'],
    },
    {
      // The kubernetes executor on a real one-node cluster (kubelet + containerd): its own
      // control plane, Temporal server, controller and worker, next to the integration ones.
      ...common,
      displayName: 'node',
      testMatch: ['<rootDir>/test/node/**/*.test.ts'],
      setupFiles: ['<rootDir>/test/support/node-env.ts'],
      globalSetup: '<rootDir>/test/support/node-setup.js',
      globalTeardown: '<rootDir>/test/support/node-teardown.js',
    },
    {
      // kratix-temporal installed in a real node with `kubectl apply -k deploy/overlays/test`: its
      // own control plane, node and Temporal server. One node per machine, so `npm test` runs it
      // after the other projects (`npm run test:cluster`), never alongside `node`.
      ...common,
      displayName: 'cluster',
      testMatch: ['<rootDir>/test/cluster/**/*.test.ts'],
      setupFiles: ['<rootDir>/test/support/cluster-env.ts'],
      globalSetup: '<rootDir>/test/support/cluster-setup.js',
      globalTeardown: '<rootDir>/test/support/cluster-teardown.js',
    },
  ],
  maxWorkers: 2,
  // Integration tests drive real servers; unit tests finish far below this.
  testTimeout: 300_000,
};
