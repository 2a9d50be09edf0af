/**
 * `npm start`'s build step: compiles the server (incrementally, `dist/.tsbuildinfo`) only when a
 * source is newer than the last build, so a restart with nothing changed starts at once.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../src/config';

const STAMP = path.join(PROJECT_ROOT, 'dist', '.tsbuildinfo');
const SOURCES = ['src', 'migrations', 'tsconfig.json', 'tsconfig.build.json', 'package-lock.json'];

/** The newest modification time under these paths (files and folders, so a deletion counts too). */
function newest(paths: string[]): number {
  let latest = 0;
  const visit = (p: string) => {
    if (!fs.existsSync(p)) return;
    const stat = fs.statSync(p);
    latest = Math.max(latest, stat.mtimeMs);
    if (stat.isDirectory()) for (const name of fs.readdirSync(p)) visit(path.join(p, name));
  };
  for (const p of paths) visit(path.join(PROJECT_ROOT, p));
  return latest;
}

const current =
  fs.existsSync(STAMP) &&
  fs.existsSync(path.join(PROJECT_ROOT, 'dist', 'src', 'server.js')) &&
  fs.statSync(STAMP).mtimeMs >= newest(SOURCES);
if (current) console.log('dist/ is current: nothing to build.');
else {
  execFileSync(
    process.execPath,
    [require.resolve('typescript/bin/tsc'), '-p', path.join(PROJECT_ROOT, 'tsconfig.build.json')],
    {
      stdio: 'inherit',
    },
  );
  fs.utimesSync(STAMP, new Date(), new Date()); // tsc leaves the stamp alone when nothing needed emitting
}
