import type { Request, RequestHandler, Response } from 'express';
import type { z } from 'zod';
import { asyncHandler } from '../http/asyncHandler';
import { validationError } from '../http/errors';

type Handle<T> = (input: T, req: Request, res: Response) => Promise<void>;

/** Validates what `read` takes from the request against the schema, then hands it on typed. */
function validated<S extends z.ZodTypeAny>(
  schema: S,
  read: (req: Request) => unknown,
  handle: Handle<z.infer<S>>,
): RequestHandler {
  return asyncHandler(async (req, res) => {
    const parsed = schema.safeParse(read(req));
    if (!parsed.success) throw validationError(parsed.error);
    await handle(parsed.data as z.infer<S>, req, res);
  });
}

/**
 * A handler of a JSON body: the body is validated against the schema at the edge (a 400 naming each
 * wrong field otherwise) and handed to `handle` as the schema made it — typed by the same schema
 * that checked it, so a route and its handler cannot disagree.
 */
export const withBody = <S extends z.ZodTypeAny>(schema: S, handle: Handle<z.infer<S>>): RequestHandler =>
  validated(schema, (req) => req.body ?? {}, handle);

/** The same for the query string. */
export const withQuery = <S extends z.ZodTypeAny>(schema: S, handle: Handle<z.infer<S>>): RequestHandler =>
  validated(schema, (req) => req.query, handle);
