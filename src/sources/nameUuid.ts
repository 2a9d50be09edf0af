import crypto from 'node:crypto';

/**
 * A name-based UUID (RFC 9562 version 5) of `name` in `namespace` (16 bytes): the directory store
 * keys users and groups by UUID, so a source whose ids are not UUIDs (Google, Okta) derives one —
 * the same object always gets the same row, whatever its email or name becomes.
 */
export function nameUuid(namespace: Buffer, name: string): string {
  const hash = crypto.createHash('sha1').update(namespace).update(name).digest();
  hash[6] = (hash[6] & 0x0f) | 0x50;
  hash[8] = (hash[8] & 0x3f) | 0x80;
  const h = hash.subarray(0, 16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** A store id for ids one read meets many times (a user in several groups): each derived once. */
export function derivedOnce(storeId: (id: string) => string): (id: string) => string {
  const ids = new Map<string, string>();
  return (id) => {
    let out = ids.get(id);
    if (out === undefined) ids.set(id, (out = storeId(id)));
    return out;
  };
}
