import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config';

const KEY_FILE = 'app-secret.key';

/**
 * The key for secrets at rest: APP_SECRET_KEY when set; otherwise (development and test only)
 * a key generated once into the data folder, readable by its owner alone.
 */
export function resolveSecretKey(config: Pick<Config, 'appSecretKey' | 'dataDir' | 'env'>): Buffer {
  if (config.appSecretKey) return config.appSecretKey;
  if (config.env === 'production') throw new Error('APP_SECRET_KEY: required in production');
  const file = path.join(config.dataDir, KEY_FILE);
  if (fs.existsSync(file)) {
    const key = Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'hex');
    if (key.length !== 32) throw new Error(`${file}: not a 32-byte hex key; delete it or set APP_SECRET_KEY`);
    return key;
  }
  fs.mkdirSync(config.dataDir, { recursive: true });
  const key = crypto.randomBytes(32);
  fs.writeFileSync(file, key.toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
  return key;
}
