import { execFileSync } from 'node:child_process';
import { PROJECT_ROOT } from '../../src/config';

/**
 * `npm run manifest` writes manifest.yml and the admin page's bundle (static/) into the project, and
 * `npm run forge-cli` the Forge CLI into .forge-cli/: generated output, which `npm test`'s lint and
 * format checks leave alone (before, `npm run manifest` then `npm test` failed with 389 ESLint
 * errors). Asked of ESLint's and Prettier's own APIs, in a process of their own (they load ES modules).
 */
const ask = (script: string, file: string): boolean =>
  JSON.parse(
    execFileSync(process.execPath, ['-e', script, file], { cwd: PROJECT_ROOT, encoding: 'utf8' }).trim(),
  ) as boolean;

it.each(['static/admin/public/js/admin.js', 'static/admin/vendor/aui/aui.js', '.forge-cli/node_modules/x/index.js'])(
  'ESLint ignores %s',
  (file) => {
    const script =
      "new (require('eslint').ESLint)().isPathIgnored(process.argv[1]).then((r) => console.log(JSON.stringify(r)))";
    expect(ask(script, file)).toBe(true);
    expect(ask(script, 'src/app.ts')).toBe(false); // and it still lints the sources
  },
);

it.each(['manifest.yml', 'static/admin/index.html', 'static/admin/public/js/admin.js', '.forge-cli/x.json'])(
  'Prettier ignores %s',
  (file) => {
    const script =
      "require('prettier').getFileInfo(process.argv[1], { ignorePath: '.prettierignore' }).then((i) => console.log(JSON.stringify(i.ignored)))";
    expect(ask(script, file)).toBe(true);
    expect(ask(script, 'src/app.ts')).toBe(false);
  },
);
