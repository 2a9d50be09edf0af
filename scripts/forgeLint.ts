/**
 * `npm run forge:lint`: the Forge CLI's own client-side linters (`@forge/lint`, what `forge lint`
 * runs before it asks Atlassian), offline and without a login, in an app's folder as `forge lint`
 * runs them: on its `manifest.yml` and on the files under its `src/`. All of them but the permission
 * linter, which downloads Jira's OpenAPI spec from developer.atlassian.com. The CLI comes from
 * `.forge-cli/` (`npm run forge-cli` installs it there, `--ignore-scripts`, as docs/install.md says).
 *
 *   npm run forge:lint                  the project's folder (manifest.yml from `npm run manifest`, and src/)
 *   npm run forge:lint -- --dir DIR     another folder (e.g. one `npm run manifest -- --out DIR/manifest.yml` wrote)
 *
 * Exits 1 when a linter reports an error, 2 when the CLI is not installed.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import YAML from 'yaml';
import { PROJECT_ROOT } from '../src/config';

/** Where `npm run forge-cli` installs the Forge CLI (ignored by git). */
export const FORGE_CLI_DIR = path.join(PROJECT_ROOT, '.forge-cli');

interface Problem {
  message: string;
  line?: number;
  column?: number;
}
interface LintResult {
  file?: string;
  errors: Problem[];
  warnings: Problem[];
}
interface Linter {
  constructor: { name: string };
}
interface ForgeLint {
  getClientSideLintersOnly(manifest: unknown, env: string, logger: unknown, statsig: unknown): Promise<Linter[]>;
  lint(
    files: string[],
    manifest: unknown,
    env: string,
    logger: unknown,
    statsig: unknown,
    config: { linter: { mode: 'client-side' }; linters: Linter[] },
  ): Promise<LintResult[]>;
}

async function main(): Promise<number> {
  const at = process.argv.indexOf('--dir');
  const dir = path.resolve(at > 0 ? process.argv[at + 1] : PROJECT_ROOT);
  const manifestFile = path.join(dir, 'manifest.yml'); // the linters read it by this name, from the folder they run in
  if (!fs.existsSync(manifestFile)) {
    console.error(`${manifestFile} does not exist: run \`npm run manifest\` first.`);
    return 2;
  }
  const modules = path.join(FORGE_CLI_DIR, 'node_modules');
  if (!fs.existsSync(path.join(modules, '@forge/lint'))) {
    console.error(`The Forge CLI is not installed in ${FORGE_CLI_DIR}: run \`npm run forge-cli\` first.`);
    return 2;
  }
  const load = createRequire(path.join(modules, 'x.js'));
  const forgeLint = load('@forge/lint') as ForgeLint;
  const { StatsigReader } = load('@forge/cli-shared/out/service/statsig-service') as {
    StatsigReader: new () => object;
  };
  // Feature gates come from Atlassian: offline, every gate is "not set", as for a CLI that cannot reach it.
  const OfflineGates = class extends StatsigReader {
    checkGate(): Promise<null> {
      return Promise.resolve(null);
    }
    getDynamicConfig(): Promise<null> {
      return Promise.resolve(null);
    }
  };
  const statsig = new OfflineGates();
  const manifest = YAML.parse(fs.readFileSync(manifestFile, 'utf8')) as unknown;
  const quiet = () => undefined;
  const logger = { info: quiet, debug: quiet, trace: quiet, warn: quiet, error: quiet };
  const linters = (await forgeLint.getClientSideLintersOnly(manifest, 'development', logger, statsig)).filter(
    (l) => l.constructor.name !== 'PermissionLinter',
  );
  process.chdir(dir); // `forge lint` reads ./manifest.yml, ./src and ./tsconfig.json
  const files = fs.existsSync('src')
    ? fs
        .readdirSync('src', { recursive: true, encoding: 'utf8' })
        .filter((f) => /\.[jt]sx?$/.test(f))
        .map((f) => path.join('src', f))
    : [];
  const results = await forgeLint.lint(files, manifest, 'development', logger, statsig, {
    linter: { mode: 'client-side' },
    linters,
  });
  let errors = 0;
  let warnings = 0;
  for (const r of results) {
    for (const e of r.errors)
      console.log(`error: ${e.message} (${r.file ?? path.basename(manifestFile)}:${e.line ?? 0})`);
    for (const w of r.warnings)
      console.log(`warning: ${w.message} (${r.file ?? path.basename(manifestFile)}:${w.line ?? 0})`);
    errors += r.errors.length;
    warnings += r.warnings.length;
  }
  console.log(
    `Forge's client-side linters (${linters.map((l) => l.constructor.name).join(', ')}) on ${manifestFile} and ${files.length} files of src/: ${errors} errors, ${warnings} warnings.`,
  );
  return errors > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(`Forge's linters failed: ${err.message}`);
    process.exit(1);
  },
);
