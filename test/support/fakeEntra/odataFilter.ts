/**
 * The part of OData's $filter that Microsoft Graph accepts on users and groups and that the fake
 * needs: eq, ne, startswith(), in (…), and, or, not, parentheses; property paths with '/'; string,
 * boolean and null literals. Anything else is a 400 Request_UnsupportedQuery, as in Graph.
 */
type Node =
  | { op: 'and' | 'or'; left: Node; right: Node }
  | { op: 'not'; node: Node }
  | { op: 'eq' | 'ne'; prop: string; value: unknown }
  | { op: 'in'; prop: string; values: unknown[] }
  | { op: 'startswith'; prop: string; value: string };

export class FilterError extends Error {}

export function parseFilter(text: string): (obj: Record<string, unknown>) => boolean {
  const tokens = text.match(/'(?:[^']|'')*'|\(|\)|,|[^\s(),]+/g) ?? [];
  let i = 0;
  const peek = () => tokens[i];
  const next = () => {
    const t = tokens[i++];
    if (t === undefined) throw new FilterError('Invalid filter clause: unexpected end');
    return t;
  };
  const literal = (t: string): unknown => {
    if (t.startsWith("'")) return t.slice(1, -1).replace(/''/g, "'");
    if (t === 'true' || t === 'false') return t === 'true';
    if (t === 'null') return null;
    if (/^-?\d+(\.\d+)?$/.test(t)) return Number(t);
    throw new FilterError(`Invalid filter clause: unsupported literal ${t}`);
  };
  const primary = (): Node => {
    const t = next();
    if (t === '(') {
      const n = orExpr();
      if (next() !== ')') throw new FilterError('Invalid filter clause: missing )');
      return n;
    }
    if (t.toLowerCase() === 'not') return { op: 'not', node: primary() };
    if (t.toLowerCase() === 'startswith') {
      if (next() !== '(') throw new FilterError('Invalid filter clause');
      const prop = next();
      if (next() !== ',') throw new FilterError('Invalid filter clause');
      const value = literal(next());
      if (next() !== ')') throw new FilterError('Invalid filter clause');
      return { op: 'startswith', prop, value: String(value) };
    }
    const prop = t;
    const op = next().toLowerCase();
    if (op === 'eq' || op === 'ne') return { op, prop, value: literal(next()) };
    if (op === 'in') {
      if (next() !== '(') throw new FilterError('Invalid filter clause');
      const values: unknown[] = [];
      for (;;) {
        values.push(literal(next()));
        const sep = next();
        if (sep === ')') break;
        if (sep !== ',') throw new FilterError('Invalid filter clause');
      }
      return { op: 'in', prop, values };
    }
    throw new FilterError(`Invalid filter clause: unsupported operator ${op}`);
  };
  const andExpr = (): Node => {
    let left = primary();
    while (peek()?.toLowerCase() === 'and') {
      i++;
      left = { op: 'and', left, right: primary() };
    }
    return left;
  };
  const orExpr = (): Node => {
    let left = andExpr();
    while (peek()?.toLowerCase() === 'or') {
      i++;
      left = { op: 'or', left, right: andExpr() };
    }
    return left;
  };
  const tree = orExpr();
  if (i !== tokens.length) throw new FilterError(`Invalid filter clause: unexpected ${tokens[i]}`);
  return (obj) => evaluate(tree, obj);
}

function read(obj: Record<string, unknown>, prop: string): unknown {
  let v: unknown = obj;
  for (const part of prop.split('/')) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[part] : undefined;
  return v ?? null;
}

const same = (a: unknown, b: unknown) =>
  typeof a === 'string' && typeof b === 'string' ? a.toLowerCase() === b.toLowerCase() : a === b;

function evaluate(n: Node, obj: Record<string, unknown>): boolean {
  switch (n.op) {
    case 'and':
      return evaluate(n.left, obj) && evaluate(n.right, obj);
    case 'or':
      return evaluate(n.left, obj) || evaluate(n.right, obj);
    case 'not':
      return !evaluate(n.node, obj);
    case 'eq':
      return same(read(obj, n.prop), n.value);
    case 'ne':
      return !same(read(obj, n.prop), n.value);
    case 'in':
      return n.values.some((v) => same(read(obj, n.prop), v));
    case 'startswith': {
      const v = read(obj, n.prop);
      return typeof v === 'string' && v.toLowerCase().startsWith(n.value.toLowerCase());
    }
  }
}
