import crypto from 'node:crypto';
import { createKeyRing, createSecretBox, SecretDecryptError } from '../../src/crypto/secrets';

const key = () => crypto.randomBytes(32);

it('the newest key seals and names itself; every key of the ring opens what it sealed', () => {
  const [k1, k2] = [key(), key()];
  const old = createKeyRing([{ id: 'k1', key: k1 }]);
  const sealedOld = old.seal('s3cret', 'ctx');
  expect(sealedOld).toMatch(/^v2:k1:/);
  const ring = createKeyRing([
    { id: 'k2', key: k2 },
    { id: 'k1', key: k1 },
  ]);
  expect(ring.newest).toBe('k2');
  const sealedNew = ring.seal('s3cret', 'ctx');
  expect(ring.keyOf(sealedNew)).toBe('k2');
  expect(ring.open(sealedNew, 'ctx')).toBe('s3cret');
  expect(ring.open(sealedOld, 'ctx')).toBe('s3cret');
  expect(() => ring.open(sealedNew, 'other-ctx')).toThrow(SecretDecryptError); // still bound to its context
});

it("opens the former single key's v1 values as `legacy`, and names a key it does not hold", () => {
  const legacy = key();
  const v1 = createSecretBox(legacy).seal('token', 'ctx');
  const ring = createKeyRing([{ id: 'k2', key: key() }], legacy);
  expect(ring.keyOf(v1)).toBe('legacy');
  expect(ring.open(v1, 'ctx')).toBe('token');
  const other = createKeyRing([{ id: 'k9', key: key() }]).seal('x', 'ctx');
  expect(() => ring.open(other, 'ctx')).toThrow('secret sealed with key "k9", which APP_SECRET_KEYS does not hold');
  expect(() => createKeyRing([{ id: 'k2', key: key() }]).open(v1, 'ctx')).toThrow(/former APP_SECRET_KEY/);
});

it('refuses a ring with a bad or repeated key id', () => {
  expect(() => createKeyRing([{ id: 'a b', key: key() }])).toThrow(/key id/);
  expect(() =>
    createKeyRing([
      { id: 'k1', key: key() },
      { id: 'k1', key: key() },
    ]),
  ).toThrow(/listed twice/);
  expect(() => createKeyRing([])).toThrow(/at least one key/);
});
