import type { RequestHandler } from 'express';
import type { z } from 'zod';
import { validationError } from '../http/errors';

/** Validates req.body against a zod schema at the edge; the handler then reads `res.locals.body` typed. */
export function validateBody<S extends z.ZodTypeAny>(schema: S): RequestHandler {
  return (req, res, next) => {
    const parsed = schema.safeParse(req.body ?? {});
    if (!parsed.success) return next(validationError(parsed.error));
    res.locals.body = parsed.data as z.infer<S>;
    next();
  };
}

/** Validates the query string against a zod schema at the edge; the handler then reads `res.locals.query` typed. */
export function validateQuery<S extends z.ZodTypeAny>(schema: S): RequestHandler {
  return (req, res, next) => {
    const parsed = schema.safeParse(req.query);
    if (!parsed.success) return next(validationError(parsed.error));
    res.locals.query = parsed.data as z.infer<S>;
    next();
  };
}
