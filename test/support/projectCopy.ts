import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../src/config';

/** The project's files as a fresh clone has them, plus node_modules and dist (hard links where possible). */
export function copyProject(into: string): void {
  fs.mkdirSync(into);
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: PROJECT_ROOT,
    encoding: 'utf8',
  })
    .split('\0')
    .filter(Boolean);
  for (const f of files) {
    const from = path.join(PROJECT_ROOT, f);
    if (!fs.existsSync(from)) continue; // deleted in the work tree
    fs.mkdirSync(path.dirname(path.join(into, f)), { recursive: true });
    fs.copyFileSync(from, path.join(into, f));
  }
  for (const dir of ['node_modules', 'dist']) {
    if (!fs.existsSync(path.join(PROJECT_ROOT, dir))) continue; // dist/ is there once something built it
    try {
      execFileSync('cp', ['-al', path.join(PROJECT_ROOT, dir), into]);
    } catch {
      execFileSync('cp', ['-a', path.join(PROJECT_ROOT, dir), into]); // another file system
    }
  }
}
