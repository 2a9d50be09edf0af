import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config';
import { createKeyRing, type KeyRing } from './secrets';

const KEY_FILE = 'app-secret.key';

type KeyConfig = Pick<Config, 'appSecretKey' | 'appSecretKeys' | 'dataDir' | 'env'>;

/**
 * The key for secrets at rest: APP_SECRET_KEY when set; otherwise (development and test only)
 * a key generated once into the data folder, readable by its owner alone.
 */
export function resolveSecretKey(config: Omit<KeyConfig, 'appSecretKeys'>): Buffer {
  if (config.appSecretKey) return config.appSecretKey;
  if (config.env === 'production') throw new Error('APP_SECRET_KEYS: required in production');
  const file = path.join(config.dataDir, KEY_FILE);
  if (fs.existsSync(file)) {
    const key = Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'hex');
    if (key.length !== 32) throw new Error(`${file}: not a 32-byte hex key; delete it or set APP_SECRET_KEYS`);
    return key;
  }
  fs.mkdirSync(config.dataDir, { recursive: true });
  const key = crypto.randomBytes(32);
  fs.writeFileSync(file, key.toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
  return key;
}

/**
 * The key ring secrets are sealed and opened with: `APP_SECRET_KEYS` (newest first), with
 * `APP_SECRET_KEY` — the single key of earlier versions — opening what it sealed (`v1:`). Without a
 * ring the single key (or the generated one) seals as before.
 */
export function resolveKeyRing(config: KeyConfig): KeyRing {
  if (config.appSecretKeys?.length) return createKeyRing(config.appSecretKeys, config.appSecretKey);
  return createKeyRing([], resolveSecretKey(config));
}
