import type { NextFunction, Request, RequestHandler, Response } from 'express';

/** An async Express handler whose rejections reach the error handler (Express 4 does not catch them). */
export const asyncHandler =
  (fn: (req: Request, res: Response, next: NextFunction) => unknown): RequestHandler =>
  (req, res, next) => {
    Promise.resolve(fn(req, res, next)).catch(next);
  };
