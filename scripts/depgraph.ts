/**
 * `npm run depgraph`: the layers of src/ and the imports between them, as a Mermaid flowchart for
 * docs/architecture.md, from dependency-cruiser's own reading of the code (the same one
 * `npm run depcheck` judges). Arrows into the shared base (config, logger, crypto, db, http, the
 * root helpers) are left out: every layer may use it.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { PROJECT_ROOT } from '../src/config';

interface Cruised {
  modules: Array<{ source: string; dependencies: Array<{ resolved: string; coreModule?: boolean }> }>;
}

const BASE = new Set(['config', 'logger', 'crypto', 'db', 'http', 'backoff', 'clock', 'memory', 'text']);
const layerOf = (file: string): string | undefined => {
  const m = /^src\/([^/]+?)(\/|\.ts$)/.exec(file);
  return m ? m[1] : undefined;
};

const json = execFileSync(
  process.execPath,
  [
    path.join(PROJECT_ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs'),
    'src',
    '--config',
    '.dependency-cruiser.cjs',
    '--output-type',
    'json',
  ],
  { cwd: PROJECT_ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
);
const cruised = JSON.parse(json) as Cruised;
const edges = new Set<string>();
for (const m of cruised.modules) {
  const from = layerOf(m.source);
  if (!from) continue;
  for (const d of m.dependencies) {
    const to = layerOf(d.resolved);
    if (!to || to === from || BASE.has(to)) continue;
    edges.add(`${from} --> ${to}`);
  }
}
const lines = ['flowchart TD', ...[...edges].sort().map((e) => `  ${e}`)];
process.stdout.write(lines.join('\n') + '\n');
