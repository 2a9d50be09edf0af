import fs from 'node:fs';
import path from 'node:path';
import Handlebars from 'handlebars';
import { PROJECT_ROOT } from '../config';

const VIEWS = path.join(PROJECT_ROOT, 'views');

/** Compiles a view (views/<name>.hbs) once; the function renders it inside the layout. */
export function view(name: string): (data: Record<string, unknown>) => string {
  const layout = Handlebars.compile(fs.readFileSync(path.join(VIEWS, 'layout.hbs'), 'utf8'));
  const body = Handlebars.compile(fs.readFileSync(path.join(VIEWS, `${name}.hbs`), 'utf8'));
  return (data) => layout({ ...data, body: body(data) });
}
