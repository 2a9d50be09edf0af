import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resolveSecretKey } from '../../src/crypto/key';
import { createSecretBox, SecretDecryptError } from '../../src/crypto/secrets';
import { constantTimeEqual, generateToken, hashToken } from '../../src/crypto/tokens';

describe('secret box (AES-256-GCM)', () => {
  const box = createSecretBox(crypto.randomBytes(32));

  it('round-trips, with a fresh IV each time', () => {
    const a = box.seal('s3cret', 'ctx');
    expect(a).toMatch(/^v1:/);
    expect(a).not.toContain('s3cret');
    expect(box.seal('s3cret', 'ctx')).not.toBe(a);
    expect(box.open(a, 'ctx')).toBe('s3cret');
  });

  it('refuses a value moved to another context (another tenant or field)', () => {
    const sealed = box.seal('s3cret', 'site-credentials:apiToken:tenant-a');
    expect(() => box.open(sealed, 'site-credentials:apiToken:tenant-b')).toThrow(SecretDecryptError);
  });

  it('refuses a tampered value and the wrong key', () => {
    const sealed = box.seal('s3cret', 'ctx');
    const raw = Buffer.from(sealed.slice(3), 'base64');
    raw[raw.length - 1] ^= 1;
    expect(() => box.open(`v1:${raw.toString('base64')}`, 'ctx')).toThrow(SecretDecryptError);
    expect(() => createSecretBox(crypto.randomBytes(32)).open(sealed, 'ctx')).toThrow(SecretDecryptError);
    expect(() => box.open('garbage', 'ctx')).toThrow(SecretDecryptError);
  });
});

describe('tokens', () => {
  it('are 256 bits of randomness, never repeated', () => {
    const t = generateToken();
    expect(Buffer.from(t, 'base64url')).toHaveLength(32);
    expect(new Set(Array.from({ length: 1000 }, () => generateToken())).size).toBe(1000);
  });

  it('are stored as a SHA-256 hash and compared in constant time', () => {
    expect(hashToken('abc')).toBe(crypto.createHash('sha256').update('abc').digest('hex'));
    expect(constantTimeEqual('abc', 'abc')).toBe(true);
    expect(constantTimeEqual('abc', 'abd')).toBe(false);
    expect(constantTimeEqual('abc', 'abcd')).toBe(false);
  });
});

describe('resolveSecretKey', () => {
  const dir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'key-'));

  it('uses APP_SECRET_KEY when given', () => {
    const key = crypto.randomBytes(32);
    expect(resolveSecretKey({ appSecretKey: key, dataDir: dir(), env: 'production' })).toBe(key);
  });

  it('generates a key once into the data folder (owner-only) and reuses it', () => {
    const d = dir();
    const first = resolveSecretKey({ dataDir: d, env: 'development' });
    expect(first).toHaveLength(32);
    expect(fs.statSync(path.join(d, 'app-secret.key')).mode & 0o777).toBe(0o600);
    expect(resolveSecretKey({ dataDir: d, env: 'development' })).toEqual(first);
  });

  it('never generates one in production', () => {
    expect(() => resolveSecretKey({ dataDir: dir(), env: 'production' })).toThrow(/APP_SECRET_KEY/);
  });
});
