/**
 * The admin page as a static Custom UI bundle, the `resource` of the Forge `jira:adminPage`: the
 * same view, scripts and styles the server serves to Connect's iframe, rendered once with relative
 * URLs, plus @forge/bridge bundled for the browser (the page loads it only under Forge). Forge
 * serves these files from its CDN; the page reaches our server only through `invokeRemote`.
 *
 *   npm run build:admin-page                 write static/admin (what `forge deploy` uploads)
 *   npm run build:admin-page -- --out DIR    write elsewhere
 */
import fs from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import { PROJECT_ROOT } from '../src/config';
import { view } from '../src/http/views';

/** Where `forge deploy` finds the bundle (the manifest's `resources` entry). */
export const ADMIN_BUNDLE_DIR = 'static/admin';

const AUI = path.join(PROJECT_ROOT, 'node_modules/@atlassian/aui/dist/aui');

/** Writes the bundle into `outDir` (emptied first); returns the files written, relative to it. */
export async function buildAdminBundle(outDir: string): Promise<string[]> {
  fs.rmSync(outDir, { recursive: true, force: true });
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(
    path.join(outDir, 'index.html'),
    view('admin')({ title: 'IdP User & Group Sync', localBaseUrl: '.' }),
  );
  fs.cpSync(path.join(PROJECT_ROOT, 'public'), path.join(outDir, 'public'), { recursive: true });
  fs.mkdirSync(path.join(outDir, 'vendor/aui'), { recursive: true });
  fs.copyFileSync(path.join(AUI, 'aui-prototyping.css'), path.join(outDir, 'vendor/aui/aui-prototyping.css'));
  fs.cpSync(path.join(AUI, 'fonts'), path.join(outDir, 'vendor/aui/fonts'), { recursive: true });
  await build({
    stdin: { contents: "export { invokeRemote } from '@forge/bridge';", resolveDir: PROJECT_ROOT },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    minify: true,
    legalComments: 'linked',
    outfile: path.join(outDir, 'public/js/admin/vendor/forge-bridge.js'),
    logLevel: 'warning',
  });
  return listFiles(outDir);
}

function listFiles(dir: string, prefix = ''): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) =>
      e.isDirectory() ? listFiles(path.join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`],
    );
}

if (require.main === module) {
  const outArg = process.argv.indexOf('--out');
  const out = path.resolve(outArg > 0 ? process.argv[outArg + 1] : path.join(PROJECT_ROOT, ADMIN_BUNDLE_DIR));
  buildAdminBundle(out).then(
    (files) => console.log(`Wrote the admin page's Custom UI bundle to ${out} (${files.length} files).`),
    (err: Error) => {
      console.error(`npm run build:admin-page failed: ${err.message}`);
      process.exit(1);
    },
  );
}
