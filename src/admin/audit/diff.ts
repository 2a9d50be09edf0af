/** One difference between two JSON values: where (a dotted path, `[i]` for array items), from what, to what. */
export interface Difference {
  path: string;
  before?: unknown;
  after?: unknown;
}

const MAX_DIFFERENCES = 200;

/**
 * What changed between two JSON values (a connection as the API shows it, its rules), leaf by leaf;
 * a value present on one side only has no `before` or no `after`. Arrays of plain values that
 * differ are shown whole (a list of groups reads better as the old and new list); at most 200.
 */
export function differences(before: unknown, after: unknown): Difference[] {
  const out: Difference[] = [];
  walk(before, after, '', out);
  return out.slice(0, MAX_DIFFERENCES);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isPlainList = (v: unknown): v is unknown[] =>
  Array.isArray(v) && v.every((x) => typeof x !== 'object' || x === null);

function walk(a: unknown, b: unknown, path: string, out: Difference[]): void {
  if (out.length >= MAX_DIFFERENCES) return;
  if (isObject(a) && isObject(b)) {
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)]))
      walk(a[key], b[key], path ? `${path}.${key}` : key, out);
    return;
  }
  if (Array.isArray(a) && Array.isArray(b) && !(isPlainList(a) && isPlainList(b))) {
    for (let i = 0; i < Math.max(a.length, b.length); i++) walk(a[i], b[i], `${path}[${i}]`, out);
    return;
  }
  if (JSON.stringify(a) === JSON.stringify(b)) return;
  out.push({ path, ...(a === undefined ? {} : { before: a }), ...(b === undefined ? {} : { after: b }) });
}
