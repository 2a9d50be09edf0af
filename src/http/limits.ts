import type { RequestHandler } from 'express';
import { uriTooLong } from './errors';

/**
 * The longest request target (path and query) answered as usual: 8 KiB, what common proxies allow.
 * Longer ones get 414 in the protocol's format; past Node's header limit (16 KiB for the request
 * line and headers together) Node itself answers 431 before any of our code runs.
 */
export const MAX_URL_LENGTH = 8192;

export const uriTooLongMessage = `The URL is longer than ${MAX_URL_LENGTH} characters.`;

/** 414 for an over-long URL outside SCIM (SCIM answers its own, in its format). */
export const limitUrlLength: RequestHandler = (req, _res, next) =>
  next(
    req.originalUrl.length > MAX_URL_LENGTH && !req.originalUrl.startsWith('/scim/')
      ? uriTooLong(uriTooLongMessage)
      : undefined,
  );
