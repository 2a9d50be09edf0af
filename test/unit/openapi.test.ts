import fs from 'node:fs';
import path from 'node:path';
import type { RequestHandler } from 'express';
import YAML from 'yaml';
import { adminApiRouter, type AdminApiDeps } from '../../src/admin/routes';
import { PROJECT_ROOT } from '../../src/config';

/** The OpenAPI file lists exactly the admin API's routes and methods. */
it('docs/openapi.yaml matches the admin API router', () => {
  const authenticate: RequestHandler = (_req, _res, next) => next();
  const deps = { authenticate } as unknown as AdminApiDeps;
  const router = adminApiRouter(deps) as unknown as {
    stack: Array<{ route?: { path: string; methods: Record<string, boolean> } }>;
  };
  const served = router.stack
    .filter((l) => l.route)
    .flatMap((l) =>
      Object.keys(l.route!.methods).map((m) => `${m.toUpperCase()} ${l.route!.path.replace(/:(\w+)/g, '{$1}')}`),
    )
    .sort();
  const doc = YAML.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'docs/openapi.yaml'), 'utf8')) as {
    paths: Record<string, Record<string, unknown>>;
  };
  const documented = Object.entries(doc.paths)
    .flatMap(([p, ops]) =>
      Object.keys(ops)
        .filter((k) => ['get', 'put', 'post', 'patch', 'delete'].includes(k))
        .map((m) => `${m.toUpperCase()} ${p}`),
    )
    .sort();
  expect(documented).toEqual(served);
});
