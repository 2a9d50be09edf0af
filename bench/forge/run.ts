/**
 * The Forge host's own cost, against the compiled server (its own process) installed through the
 * fake Forge platform:
 * - the admin API through Forge (`GET /forge/api/v1/connections`, a Forge Invocation Token
 *   verified on every call) beside the same call with a Connect context JWT (`/api/v1`), with
 *   autocannon at CONNECTIONS connections for DURATION s each; and the Jira calls each made;
 * - EVENTS `avi:jira:created:user` deliveries one after another, as Forge sends them: each answer's
 *   latency (Forge gives 5 s) and the Jira calls they made.
 * Usage: npm run bench:forge [-- --duration 10 --connections 10 --events 200]
 */
import crypto from 'node:crypto';
import { FakeForge } from '../../test/support/fakeForge';
import { loadTest, numberArg, runBenchmark, startBenchWorld, summarizeLoad } from '../support';

const DURATION = numberArg('duration', 10);
const CONNECTIONS = numberArg('connections', 10);
const EVENTS = numberArg('events', 200);
const FLOORS = { forgeRps: 500, eventP99Ms: 500 };

const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

async function main(): Promise<void> {
  const forge = await new FakeForge().start();
  const world = await startBenchWorld({ FORGE_APP_ID: forge.appId, FORGE_JWKS_URL: forge.jwksUrl });
  const { base, jira, keys } = world;
  try {
    // The same site under both hosts: installed with Connect (through Forge's bridge), then moved to Forge.
    const installationId = crypto.randomUUID();
    if ((await jira.install(base, keys, { installationId })).status !== 204) throw new Error('install failed');
    const inst = await forge.install(jira, base, { installationId, silent: true });
    if (!(await inst.lifecycle('avi:forge:upgraded:app')).delivered) throw new Error('upgrade failed');
    const admin = jira.admin.accountId;
    const made = await inst.invokeRemote(
      { path: '/forge/api/v1/connections', method: 'POST', body: { name: 'Okta', kind: 'scim', provider: 'okta' } },
      admin,
    );
    if (!made.success || made.payload.status !== 201)
      throw new Error(`creating a connection failed: ${JSON.stringify(made)}`);

    const calls = () => jira.calls.length;
    // A token lives 25 s; one is signed per run, as valid as a fresh one for the verifier (the key is cached).
    const fit = await forge.token(inst.claims({ principal: admin, ui: true }), { expiresInSec: DURATION + 20 });
    let before = calls();
    const viaForge = await loadTest({
      url: `${base}/forge/api/v1/connections`,
      connections: CONNECTIONS,
      duration: DURATION,
      headers: { authorization: `Bearer ${fit}`, 'x-forge-oauth-system': inst.systemToken! },
    });
    const forgeJira = calls() - before;
    before = calls();
    const viaConnect = await loadTest({
      url: `${base}/api/v1/connections`,
      connections: CONNECTIONS,
      duration: DURATION,
      headers: { authorization: `JWT ${jira.contextJwt(admin, { expiresIn: DURATION + 60 })}` },
    });
    const connectJira = calls() - before;

    before = calls();
    const latencies: number[] = [];
    for (let i = 0; i < EVENTS; i++) {
      const user = jira.state.addUser({ emailAddress: `new${i}@bench.example`, displayName: `New ${i}` });
      const t = performance.now();
      const d = await inst.userCreated({ accountId: user.accountId });
      latencies.push(performance.now() - t);
      if (!d.delivered || d.statuses.length !== 1)
        throw new Error(`event ${i} was not answered at once: ${d.statuses.join(', ')}`);
    }
    const eventJira = calls() - before;

    const result = {
      adminApi: {
        forge: { ...summarizeLoad(viaForge), jiraCalls: forgeJira },
        connect: { ...summarizeLoad(viaConnect), jiraCalls: connectJira },
      },
      userCreatedEvents: {
        events: EVENTS,
        latencyMs: {
          p50: +pct(latencies, 50).toFixed(1),
          p99: +pct(latencies, 99).toFixed(1),
          max: +Math.max(...latencies).toFixed(1),
        },
        jiraCalls: eventJira,
      },
    };
    console.log(JSON.stringify(result, null, 2));
    const ok =
      result.adminApi.forge.requestsPerSecond >= FLOORS.forgeRps &&
      viaForge.non2xx === 0 &&
      result.userCreatedEvents.latencyMs.p99 <= FLOORS.eventP99Ms;
    console.log(ok ? 'floors met' : `floors NOT met: ${JSON.stringify(FLOORS)}`);
    process.exitCode = ok ? 0 : 1;
  } finally {
    await world.stop();
    await forge.stop();
  }
}

runBenchmark(main);
