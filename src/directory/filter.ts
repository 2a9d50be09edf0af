/** An attribute path: an optional schema URN, an attribute, an optional sub-attribute. */
export interface AttrPath {
  uri?: string;
  attr: string;
  sub?: string;
}

export type CompareOp = 'eq' | 'ne' | 'co' | 'sw' | 'ew' | 'gt' | 'ge' | 'lt' | 'le';
export type FilterValue = string | number | boolean | null;

/** A parsed SCIM filter (RFC 7644 §3.4.2.2). */
export type Filter =
  | { op: 'and' | 'or'; left: Filter; right: Filter }
  | { op: 'not'; filter: Filter }
  | { op: CompareOp; path: AttrPath; value: FilterValue }
  | { op: 'pr'; path: AttrPath }
  | { op: 'valuePath'; path: AttrPath; filter: Filter };

/** A parsed PATCH path: `attrPath`, `attrPath[valFilter]`, or `attrPath[valFilter].subAttr`. */
export interface PatchPath {
  path: AttrPath;
  filter?: Filter;
  /** The sub-attribute after a value filter (`emails[type eq "work"].value`). */
  subAfterFilter?: string;
}

const COMPARE_OPS = new Set(['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le']);
const MAX_DEPTH = 32;
const MAX_LENGTH = 10_000;

type Token = { kind: 'word' | 'string' | '(' | ')' | '[' | ']'; text: string; pos: number; value?: string };

function tokenize(input: string, fail: (msg: string) => Error): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const c = input[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if ('()[]'.includes(c)) {
      tokens.push({ kind: c as Token['kind'], text: c, pos: i });
      i++;
      continue;
    }
    if (c === '"') {
      let j = i + 1;
      while (j < input.length && input[j] !== '"') j += input[j] === '\\' ? 2 : 1;
      if (j >= input.length) throw fail(`unterminated string starting at position ${i + 1}`);
      const raw = input.slice(i, j + 1);
      let value: string;
      try {
        value = JSON.parse(raw) as string;
      } catch {
        throw fail(`invalid string ${raw}`);
      }
      tokens.push({ kind: 'string', text: raw, pos: i, value });
      i = j + 1;
      continue;
    }
    let j = i;
    while (j < input.length && !/\s/.test(input[j]) && !'()[]"'.includes(input[j])) j++;
    tokens.push({ kind: 'word', text: input.slice(i, j), pos: i });
    i = j;
  }
  return tokens;
}

/** Parses an attribute path such as `name.givenName` or `urn:…:enterprise:2.0:User:manager.value`. */
export function parseAttrPath(text: string, fail: (msg: string) => Error): AttrPath {
  let uri: string | undefined;
  let rest = text;
  if (/^urn:/i.test(text)) {
    const cut = text.lastIndexOf(':');
    uri = text.slice(0, cut);
    rest = text.slice(cut + 1);
    if (!rest) throw fail(`"${text}" names a schema but no attribute`);
  }
  const parts = rest.split('.');
  if (parts.length > 2 || parts.some((p) => !/^\$?[A-Za-z][\w$-]*$/.test(p)))
    throw fail(`"${text}" is not a valid attribute path`);
  return { uri, attr: parts[0], sub: parts[1] };
}

class Parser {
  private i = 0;
  constructor(
    private readonly tokens: Token[],
    private readonly fail: (msg: string) => Error,
  ) {}

  done(): boolean {
    return this.i >= this.tokens.length;
  }

  peek(): Token | undefined {
    return this.tokens[this.i];
  }

  next(what: string): Token {
    const t = this.tokens[this.i++];
    if (!t) throw this.fail(`expected ${what} but the filter ended`);
    return t;
  }

  expect(kind: Token['kind']): Token {
    const t = this.next(`"${kind}"`);
    if (t.kind !== kind) throw this.fail(`expected "${kind}" at position ${t.pos + 1}, found "${t.text}"`);
    return t;
  }

  isWord(text: string): boolean {
    const t = this.peek();
    return t?.kind === 'word' && t.text.toLowerCase() === text;
  }

  // filter := term ("or" term)*
  parseOr(depth: number): Filter {
    let left = this.parseAnd(depth);
    while (this.isWord('or')) {
      this.i++;
      left = { op: 'or', left, right: this.parseAnd(depth) };
    }
    return left;
  }

  // term := factor ("and" factor)*
  parseAnd(depth: number): Filter {
    let left = this.parseFactor(depth);
    while (this.isWord('and')) {
      this.i++;
      left = { op: 'and', left, right: this.parseFactor(depth) };
    }
    return left;
  }

  // factor := "not" "(" filter ")" | "(" filter ")" | attrExp | valuePath
  parseFactor(depth: number): Filter {
    if (depth > MAX_DEPTH) throw this.fail('the filter is nested too deeply');
    const t = this.next('an expression');
    if (t.kind === 'word' && t.text.toLowerCase() === 'not') {
      this.expect('(');
      const inner = this.parseOr(depth + 1);
      this.expect(')');
      return { op: 'not', filter: inner };
    }
    if (t.kind === '(') {
      const inner = this.parseOr(depth + 1);
      this.expect(')');
      return inner;
    }
    if (t.kind !== 'word') throw this.fail(`unexpected "${t.text}" at position ${t.pos + 1}`);
    const path = parseAttrPath(t.text, this.fail);
    if (this.peek()?.kind === '[') {
      this.i++;
      const inner = this.parseOr(depth + 1);
      this.expect(']');
      return { op: 'valuePath', path, filter: inner };
    }
    const opToken = this.next('an operator');
    const op = opToken.text.toLowerCase();
    if (op === 'pr') return { op: 'pr', path };
    if (opToken.kind !== 'word' || !COMPARE_OPS.has(op))
      throw this.fail(`unknown operator "${opToken.text}" at position ${opToken.pos + 1}`);
    return { op: op as CompareOp, path, value: this.parseValue() };
  }

  parseValue(): FilterValue {
    const t = this.next('a value');
    if (t.kind === 'string') return t.value!;
    if (t.kind !== 'word') throw this.fail(`expected a value at position ${t.pos + 1}, found "${t.text}"`);
    const lower = t.text.toLowerCase();
    if (lower === 'true') return true;
    if (lower === 'false') return false;
    if (lower === 'null') return null;
    if (/^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(t.text)) return Number(t.text);
    // Real clients send unquoted strings (Entra: `externalId eq jyoung`); read them as strings.
    return t.text;
  }
}

/** A filter or attribute path that does not parse (the SCIM layer answers it with 400 invalidFilter / invalidPath). */
export class ExpressionError extends Error {}

/** Makes the error a syntax problem is thrown as, from its message. */
export type Fail = (message: string) => Error;
const plainError: Fail = (message) => new ExpressionError(message);

/** Parses a filter expression (RFC 7644 §3.4.2.2); a syntax error is thrown as `failWith` makes it. */
export function parseFilter(input: string, failWith: Fail = plainError): Filter {
  const fail = (msg: string) => failWith(`Invalid filter: ${msg}`);
  if (input.length > MAX_LENGTH) throw fail(`longer than ${MAX_LENGTH} characters`);
  const parser = new Parser(tokenize(input, fail), fail);
  if (parser.done()) throw fail('the filter is empty');
  const filter = parser.parseOr(0);
  if (!parser.done()) {
    const t = parser.peek()!;
    throw fail(`unexpected "${t.text}" at position ${t.pos + 1}`);
  }
  return filter;
}

/** Parses an attribute path that may hold a value filter (a PATCH path, a mapping's source). */
export function parsePatchPath(input: string, failWith: Fail = plainError): PatchPath {
  const fail = (msg: string) => failWith(`Invalid path "${input}": ${msg}`);
  const open = input.indexOf('[');
  if (open < 0) return { path: parseAttrPath(input.trim(), fail) };
  const close = input.lastIndexOf(']');
  if (close < open) throw fail('unbalanced brackets');
  const path = parseAttrPath(input.slice(0, open).trim(), fail);
  if (path.sub) throw fail('a value filter must follow a multi-valued attribute, not a sub-attribute');
  const after = input.slice(close + 1).trim();
  if (after && !/^\.[A-Za-z$][\w$-]*$/.test(after)) throw fail(`unexpected "${after}" after the value filter`);
  let filter: Filter;
  try {
    filter = parseFilter(input.slice(open + 1, close));
  } catch (err) {
    throw fail((err as Error).message.replace(/^Invalid filter: /, ''));
  }
  return { path, filter, subAfterFilter: after ? after.slice(1) : undefined };
}
