import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import YAML from 'yaml';
import { PROJECT_ROOT } from '../../src/config';

/**
 * The Forge CLI as people meet it (docs/install.md): installed with `--ignore-scripts` (`npm run
 * forge-cli`, which .ci/run does), its client-side linters run offline on the generated manifest
 * and on the project's src/ (what `forge lint` in the project folder reads), and its behaviour in a
 * shell with no terminal and no login. What needs Atlassian (`forge lint`'s login, `forge deploy`)
 * cannot run here.
 */
jest.setTimeout(180_000);

const CLI_DIR = path.join(PROJECT_ROOT, '.forge-cli');
const CLI = path.join(CLI_DIR, 'node_modules/.bin/forge');
const installed = fs.existsSync(CLI);
if (!installed && process.env.CI === 'true')
  throw new Error('CI installs the Forge CLI (.ci/run: npm run forge-cli); it is missing.');
if (!installed)
  console.warn(
    '\n*** SKIPPING the Forge CLI tests: the CLI is not installed in .forge-cli (run `npm run forge-cli`, which needs the npm registry) ***\n',
  );

const run = promisify(execFile);
const TSX = path.join(PROJECT_ROOT, 'node_modules/tsx/dist/cli.mjs');
/** A command's exit code and all it printed (stdout and stderr together). */
async function exec(cmd: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv }) {
  try {
    const { stdout, stderr } = await run(cmd, args, { ...opts, timeout: 120_000, maxBuffer: 10 << 20 });
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, out: (e.stdout ?? '') + (e.stderr ?? '') };
  }
}

(installed ? describe : describe.skip)('the Forge CLI', () => {
  let dir: string;
  let app: string;
  /** A shell's environment with a fresh home, no Forge login, and no NODE_ENV (see the last test). */
  const env = () => {
    const e: NodeJS.ProcessEnv = { ...process.env, HOME: path.join(dir, 'home') };
    delete e.FORGE_EMAIL;
    delete e.FORGE_API_TOKEN;
    delete e.NODE_ENV;
    return e;
  };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'idp-sync-forge-cli-'));
    app = path.join(dir, 'app');
    fs.mkdirSync(path.join(dir, 'home'));
    const made = await exec(
      process.execPath,
      [TSX, path.join(PROJECT_ROOT, 'scripts/manifest.ts'), '--out', path.join(app, 'manifest.yml')],
      {
        cwd: dir,
        env: {
          ...env(),
          NODE_ENV: 'development',
          FORGE_APP_ID: 'ari:cloud:ecosystem::app/4f3c1a52-9f0e-4d0b-8a51-3d6f2f0c9e11',
          AC_LOCAL_BASE_URL: 'https://sync.example.com',
        },
      },
    );
    expect(made).toMatchObject({ code: 0, out: expect.stringContaining('It validates.') });
    // `forge lint` in the project folder reads its src/ and tsconfig.json too.
    fs.symlinkSync(path.join(PROJECT_ROOT, 'src'), path.join(app, 'src'));
    fs.symlinkSync(path.join(PROJECT_ROOT, 'tsconfig.json'), path.join(app, 'tsconfig.json'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const lint = (folder: string) =>
    exec(process.execPath, [TSX, path.join(PROJECT_ROOT, 'scripts/forgeLint.ts'), '--dir', folder], {
      cwd: dir,
      env: env(),
    });

  it("its client-side linters pass the generated manifest and the server's src/", async () => {
    const { code, out } = await lint(app);
    expect(out).toMatch(
      /FullManifestLinter.*InvokeEndpointLinter.* on .*manifest\.yml and \d{2,} files of src\/: 0 errors, 0 warnings\./s,
    );
    expect(code).toBe(0);
  });

  it('…and they are live: a trigger naming an endpoint the manifest lacks is an error', async () => {
    const broken = path.join(dir, 'broken');
    fs.mkdirSync(broken);
    const manifest = YAML.parse(fs.readFileSync(path.join(app, 'manifest.yml'), 'utf8')) as {
      modules: { trigger: Array<{ endpoint: string }> };
    };
    manifest.modules.trigger[0].endpoint = 'no-such-endpoint';
    fs.writeFileSync(path.join(broken, 'manifest.yml'), YAML.stringify(manifest));
    fs.cpSync(path.join(app, 'static'), path.join(broken, 'static'), { recursive: true });
    const { code, out } = await lint(broken);
    expect(out).toContain("error: trigger references undefined endpoint module with key 'no-such-endpoint'");
    expect(code).toBe(1);
  });

  /**
   * The CLI starts a background worker with every command (a version check and analytics) that
   * rewrites the same settings file (~/.config/@forge/cli-nodejs/config.json) while the command runs:
   * each reads the file, changes its key and writes it back, so a setting written in the same
   * moment can be lost — CI once saw `settings set` succeed and the next command prompt again. A
   * person types the next command seconds later; the test waits for this home's workers to end.
   */
  async function workersDone() {
    const home = `HOME=${path.join(dir, 'home')}\0`;
    for (let waited = 0; waited < 15_000; waited += 100) {
      const running = fs.readdirSync('/proc').some((pid) => {
        if (!/^\d+$/.test(pid)) return false;
        try {
          const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
          return (
            cmd.includes('forge-cli-workers') &&
            `\0${fs.readFileSync(`/proc/${pid}/environ`, 'utf8')}`.includes(`\0${home}`)
          );
        } catch {
          return false; // ended while we looked
        }
      });
      if (!running) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error("the Forge CLI's background worker did not end in 15 s");
  }
  const forge = async (args: string[], extra: NodeJS.ProcessEnv = {}) => {
    const result = await exec(process.execPath, [fs.realpathSync(CLI), ...args], {
      cwd: app,
      env: { ...env(), ...extra },
    });
    await workersDone();
    return result;
  };
  const analytics = () => {
    const file = path.join(dir, 'home/.config/@forge/cli-nodejs/config.json');
    if (!fs.existsSync(file)) return undefined;
    const conf = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, { value?: unknown } | undefined>;
    return conf['analytics-preferences']?.value;
  };
  const LOGIN =
    'Not logged in. If a local keychain is available, run forge login, otherwise set environment variables before trying again.';

  it('in a shell with no terminal: the analytics prompt fails; FORGE_DISABLE_ANALYTICS=1 answers it for one command', async () => {
    const first = await forge(['lint']);
    expect(first.code).not.toBe(0);
    expect(first.out).toContain('Prompts can not be meaningfully rendered in non-TTY environments');
    const disabled = await forge(['lint'], { FORGE_DISABLE_ANALYTICS: '1' });
    expect(disabled.code).not.toBe(0);
    expect(disabled.out).toContain(LOGIN);
    expect(analytics()).toBeUndefined(); // nothing was written: the next command prompts again
  });

  it('…and `forge settings set usage-analytics false` answers it for good, once the setting is seen in `forge settings list`', async () => {
    let tries = 0;
    do {
      tries += 1;
      const settings = await forge(['settings', 'set', 'usage-analytics', 'false']);
      expect(settings.code).toBe(0);
    } while (analytics() !== false && tries < 3);
    expect(analytics()).toBe(false);
    expect((await forge(['settings', 'list'])).out).toMatch(/usage-analytics.*false/s);
    const second = await forge(['lint']);
    expect(second.code).not.toBe(0);
    expect(second.out).toContain(LOGIN);
  });

  it('with NODE_ENV=development (as a shell for this server may have) it looks for ts-node and crashes', async () => {
    const cli = fs.realpathSync(CLI);
    const { code, out } = await exec(process.execPath, [cli, 'lint'], {
      cwd: app,
      env: { ...env(), NODE_ENV: 'development' },
    });
    expect(code).not.toBe(0);
    expect(out).toContain('Error: spawn ts-node ENOENT');
  });
});
