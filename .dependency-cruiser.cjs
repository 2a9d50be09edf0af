/**
 * The layering of docs/architecture.md, checked by `npm run depcheck` (part of `npm test`) over
 * src/ and the admin page's modules (public/js/: no cycle there either).
 * Arrows: scim, sources → directory; provisioning → directory, jira (and the source contract,
 * sources/source.ts, whose Pull it runs); triggers (jobs) → sources,
 * provisioning; notifications → the stores and the outbound HTTPS of sources (sources/http.ts,
 * sources/outbound.ts), nothing of what it reports on; admin → what it configures; the hosts (connect, forge) → what they need, and
 * nothing imports a host but the composition root (app.ts, server.ts). The shared base (config,
 * logger, crypto, db, http and the small helpers beside them) imports none of the layers.
 */
const LAYERS = [
  'directory',
  'jira',
  'scim',
  'sources',
  'provisioning',
  'jobs',
  'notifications',
  'admin',
  'connect',
  'forge',
];
const layer = (...names) => `^src/(${names.join('|')})/`;
const others = (...allowed) => layer(...LAYERS.filter((l) => !allowed.includes(l)));

module.exports = {
  forbidden: [
    {
      name: 'no-cycle',
      severity: 'error',
      comment: 'A cycle makes two modules one; break it by moving what both need down a layer.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'base-imports-no-layer',
      severity: 'error',
      comment: 'config, logger, crypto, db, http and the root helpers sit under every layer.',
      from: {
        path: '^src/((crypto|db|http)/|(config|configSchema|logger|metrics|instance|backoff|memory|slices|every|asyncHandler)\\.ts$)',
      },
      to: { path: layer(...LAYERS) },
    },
    {
      name: 'directory-is-a-floor',
      severity: 'error',
      from: { path: layer('directory') },
      to: { path: others('directory') },
    },
    { name: 'jira-is-a-floor', severity: 'error', from: { path: layer('jira') }, to: { path: others('jira') } },
    {
      name: 'scim-writes-the-directory-only',
      severity: 'error',
      from: { path: layer('scim') },
      to: { path: others('scim', 'directory') },
    },
    {
      name: 'sources-write-the-directory-only',
      severity: 'error',
      comment: 'Sources know nothing about Jira or the engine.',
      from: { path: layer('sources') },
      to: { path: others('sources', 'directory') },
    },
    {
      name: 'no-source-imports-another',
      severity: 'error',
      comment: 'A source is one folder; what two sources share lives in src/sources/ beside the contract.',
      from: { path: '^src/sources/([^/]+)/' },
      to: { path: '^src/sources/[^/]+/', pathNot: '^src/sources/$1/' },
    },
    {
      name: 'provisioning-reads-directory-writes-jira',
      severity: 'error',
      comment: "The engine runs a source's Pull through the contract in sources/source.ts, never a source itself.",
      from: { path: layer('provisioning') },
      to: { path: others('provisioning', 'directory', 'jira'), pathNot: '^src/sources/source\\.ts$' },
    },
    {
      name: 'triggers-start-runs',
      severity: 'error',
      from: { path: layer('jobs') },
      to: { path: others('jobs', 'sources', 'provisioning', 'directory', 'jira') },
    },
    {
      name: 'notifications-read-the-stores-only',
      severity: 'error',
      comment: 'The notifier reads what ended (runs, connections) from the database, not from the engine.',
      from: { path: layer('notifications') },
      to: { path: others('notifications'), pathNot: '^src/sources/(http|outbound)\\.ts$' },
    },
    {
      name: 'admin-configures-no-host',
      severity: 'error',
      from: { path: layer('admin') },
      to: { path: layer('connect', 'forge') },
    },
    {
      name: 'nothing-imports-a-host',
      severity: 'error',
      comment: 'Hosts are shells over the core; only app.ts and server.ts wire them in.',
      from: { path: '^src/', pathNot: ['^src/(app|server)\\.ts$', layer('connect', 'forge')] },
      to: { path: layer('connect', 'forge') },
    },
    { name: 'src-not-to-tests', severity: 'error', from: { path: '^src/' }, to: { path: '^(test|bench|scripts)/' } },
    {
      name: 'src-not-to-dev-dependencies',
      severity: 'error',
      comment: 'The production image installs no devDependencies.',
      from: { path: '^src/' },
      to: { dependencyTypes: ['npm-dev'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    combinedDependencies: false,
    exclude: { path: '^dist/' },
  },
};
