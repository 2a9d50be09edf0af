/**
 * How deep a JSON request body may nest. Deeper bodies are refused before they are parsed further
 * than the scan: deeply nested JSON costs recursion everywhere it goes (our code, Postgres' jsonb,
 * the logger), and no SCIM resource or admin setting nests more than a few levels.
 */
export const MAX_JSON_DEPTH = 64;

/** A body refused for nesting deeper than MAX_JSON_DEPTH (status 400 for body-parser). */
export class TooDeep extends Error {
  readonly status = 400;
  constructor() {
    super(`The request body nests more than ${MAX_JSON_DEPTH} levels deep.`);
  }
}

/**
 * body-parser's `verify` hook: one pass over the raw bytes counting brackets outside strings, so a
 * 1 MB body costs a millisecond and a hostile one never reaches JSON.parse's recursion.
 */
export function checkJsonDepth(_req: unknown, _res: unknown, buf: Buffer): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i];
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped byte
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > MAX_JSON_DEPTH) throw new TooDeep();
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
}
