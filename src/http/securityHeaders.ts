import type { RequestHandler, Response } from 'express';
import helmet from 'helmet';

/** Where Jira Cloud sites live: the only pages allowed to frame the Connect admin page, with the site's own URL. */
const JIRA_SITES = ['https://*.atlassian.net', 'https://*.jira.com'];
/** Atlassian's CDN for the Connect host script (all.js), besides the site's own copy. */
const CONNECT_CDN = 'https://connect-cdn.atl-paas.net';

/**
 * helmet's security headers for every answer, suited to an app whose admin page Jira frames: no
 * `X-Frame-Options` (it cannot name Jira's sites), and a content security policy that lets only
 * our own origin frame our pages, load scripts and connect — `frameableByJira` widens it for the
 * Connect admin page. No `upgrade-insecure-requests`: development runs on plain http.
 */
export function securityHeaders(localBaseUrl: string): RequestHandler {
  return helmet({
    frameguard: false, // frame-ancestors in the CSP says who may frame us; X-Frame-Options cannot name Jira
    contentSecurityPolicy: {
      useDefaults: true,
      directives: {
        defaultSrc: ["'self'", localBaseUrl],
        scriptSrc: ["'self'", localBaseUrl],
        styleSrc: ["'self'", localBaseUrl],
        imgSrc: ["'self'", 'data:', localBaseUrl],
        fontSrc: ["'self'", 'data:', localBaseUrl],
        frameAncestors: ["'self'"],
        upgradeInsecureRequests: null,
      },
    },
  });
}

/**
 * The Connect admin page's policy: Jira's sites (and the site that loads it) may frame it, and it
 * may run the Connect host script from the site or Atlassian's CDN; the host script styles the
 * frame, so inline styles are allowed there (no inline script is).
 */
export function frameableByJira(res: Response, opts: { localBaseUrl: string; hostBaseUrl?: string }): void {
  const self = ["'self'", opts.localBaseUrl];
  const host = opts.hostBaseUrl ? [opts.hostBaseUrl] : [];
  const directives = [
    `default-src ${self.join(' ')}`,
    `script-src ${[...self, ...host, CONNECT_CDN].join(' ')}`,
    `style-src ${[...self, "'unsafe-inline'"].join(' ')}`,
    `img-src ${[...self, 'data:'].join(' ')}`,
    `font-src ${[...self, 'data:'].join(' ')}`,
    `connect-src ${self.join(' ')}`,
    `frame-ancestors ${[...host, ...JIRA_SITES].join(' ')}`,
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
  ];
  res.setHeader('Content-Security-Policy', directives.join('; '));
}
