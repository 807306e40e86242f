/** Import boundaries of docs/decisions/001-layout.md, checked by `npm run check` and `npm test`. */
module.exports = {
  forbidden: [
    { name: 'core-is-pure', severity: 'error', comment: 'core holds domain types and ports; it imports nothing of ours outside core',
      from: { path: '^src/core' }, to: { path: '^src/(?!core)' } },
    { name: 'adapters-import-core-only', severity: 'error', comment: 'an adapter knows its technology and the core ports, never another adapter, the pipeline or the api',
      from: { path: '^src/adapters/([^/]+)/' }, to: { path: '^src/(pipeline|api|cli|models|app)', pathNot: '^src/adapters/$1/' } },
    { name: 'adapters-are-independent', severity: 'error',
      from: { path: '^src/adapters/([^/]+)/' }, to: { path: '^src/adapters/', pathNot: '^src/adapters/$1/' } },
    { name: 'models-import-core-only', severity: 'error',
      from: { path: '^src/models' }, to: { path: '^src/(pipeline|api|cli|adapters|app)' } },
    { name: 'pipeline-does-not-pick-adapters', severity: 'error', comment: 'only the composition root (src/app.ts) picks adapters',
      from: { path: '^src/pipeline' }, to: { path: '^src/(adapters|api|cli|app)' } },
    { name: 'api-does-not-pick-adapters', severity: 'error',
      from: { path: '^src/api' }, to: { path: '^src/(adapters|cli)' } },
    { name: 'cli-does-not-pick-adapters', severity: 'error', comment: 'the CLI gets its wiring from src/app.ts',
      from: { path: '^src/cli' }, to: { path: '^src/adapters' } },
    { name: 'no-circular', severity: 'error', from: {}, to: { circular: true } },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '\\.test\\.ts$' },
  },
}
