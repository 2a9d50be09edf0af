import type { Request, RequestHandler, Response } from 'express';
import type { z } from 'zod';
import { asyncHandler } from '../http/asyncHandler';
import { validationError } from '../http/errors';

type Handle<T> = (input: T, req: Request, res: Response) => Promise<void>;

/**
 * A handler of a JSON body: the body is validated against the schema at the edge (a 400 naming each
 * wrong field otherwise) and handed to `handle` as the schema made it — typed by the same schema
 * that checked it, so a route and its handler cannot disagree.
 */
export function withBody<S extends z.ZodTypeAny>(schema: S, handle: Handle<z.infer<S>>): RequestHandler {
  return asyncHandler(async (req, res) => {
    const parsed = schema.safeParse(req.body ?? {});
    if (!parsed.success) throw validationError(parsed.error);
    await handle(parsed.data as z.infer<S>, req, res);
  });
}

/** The same for the query string. */
export function withQuery<S extends z.ZodTypeAny>(schema: S, handle: Handle<z.infer<S>>): RequestHandler {
  return asyncHandler(async (req, res) => {
    const parsed = schema.safeParse(req.query);
    if (!parsed.success) throw validationError(parsed.error);
    await handle(parsed.data as z.infer<S>, req, res);
  });
}
