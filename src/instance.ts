import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * This process among the app's instances: `INSTANCE_ID` when the operator names it (a pod's name),
 * else 8 random hex characters per start. It is in the User-Agent of every Jira call (so Jira's
 * and the fakes' records tell instances apart), in `idp_instance_info` on /metrics and in the start
 * log line.
 */
export const INSTANCE_ID = /^[A-Za-z0-9._-]{1,64}$/.test(process.env.INSTANCE_ID ?? '')
  ? process.env.INSTANCE_ID!
  : crypto.randomBytes(4).toString('hex');

function version(): string {
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (fs.existsSync(file)) return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version?: string }).version ?? '0';
  }
  return '0';
}

export const APP_VERSION = version();

/** What the app says it is to Jira. */
export const USER_AGENT = `idp-user-group-sync/${APP_VERSION} (instance ${INSTANCE_ID})`;
