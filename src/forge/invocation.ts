import type { IncomingHttpHeaders } from 'node:http';
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { installationAri } from '../db/tenants';

/** Forge's invocation tokens are signed by Atlassian with keys it publishes here (`FORGE_JWKS_URL` overrides it). */
export const FORGE_JWKS_URL = 'https://forge.cdn.prod.atlassian-dev.net/.well-known/jwks.json';
const ISSUER = 'forge/invocation-token';

/**
 * What a call from Forge to our remote says about itself, once its Forge Invocation Token (FIT) is
 * verified: which installation (the tenant), where to call Jira with the app's system token, and
 * who the user is. The token carries no admin flag: the server checks admin rights itself.
 */
export interface ForgeInvocation {
  /** The installation's ARI (`ari:cloud:ecosystem::installation/<uuid>`), whichever form the token used. */
  installationId: string;
  /** Where Jira is called with the app system token (the token's `app.apiBaseUrl`). */
  apiBaseUrl?: string;
  /** The site's cloud id: the UI context's, else the installation's first context. */
  cloudId?: string;
  /** The site's URL: only UI invocations (the admin page's invokeRemote) carry it, in their `context`. */
  siteUrl?: string;
  /** The account id of the user in session; absent for scheduled triggers and product events. */
  principal?: string;
  /** `x-forge-oauth-system`: the app system token, when the endpoint asked for it. */
  appSystemToken?: string;
  /** `x-forge-oauth-user`: the user's token, only when a user is in session and the endpoint asked. */
  appUserToken?: string;
}

/** Why a call that claims to come from Forge was refused (the answer is 401, with this message). */
export class ForgeAuthError extends Error {}

/**
 * Verifies Forge Invocation Tokens: RS256 against Atlassian's JWKS (fetched and cached by `jose`,
 * refetched for an unknown `kid`), issuer `forge/invocation-token`, audience our app id, not
 * expired (the token lives 25 s; `clockToleranceSec` allows for skew).
 */
export class InvocationVerifier {
  private readonly keys: JWTVerifyGetKey;

  constructor(
    private readonly opts: {
      appId: string;
      jwksUrl?: string;
      clockToleranceSec?: number;
      /** The least time between two fetches of the keys for an unknown key id (a rotation), 5 s by default. */
      refetchAfterMs?: number;
      now?: () => number;
    },
  ) {
    this.keys = createRemoteJWKSet(new URL(opts.jwksUrl ?? FORGE_JWKS_URL), {
      timeoutDuration: 5000,
      cooldownDuration: opts.refetchAfterMs ?? 5000,
    });
  }

  /** The invocation a request carries, or a ForgeAuthError saying what is wrong with it. */
  async verify(headers: IncomingHttpHeaders): Promise<ForgeInvocation> {
    const auth = headerOf(headers, 'authorization');
    const token = /^Bearer\s+(\S+)$/i.exec(auth ?? '')?.[1];
    if (!token) throw new ForgeAuthError('A Forge invocation token (Authorization: Bearer …) is required.');
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.keys, {
        issuer: ISSUER,
        audience: this.opts.appId,
        algorithms: ['RS256'],
        clockTolerance: this.opts.clockToleranceSec ?? 5,
        ...(this.opts.now ? { currentDate: new Date(this.opts.now()) } : {}),
      }));
    } catch (err) {
      throw new ForgeAuthError(`The Forge invocation token was refused: ${describe(err)}`);
    }
    const app = (payload.app ?? {}) as {
      installationId?: unknown;
      apiBaseUrl?: unknown;
      installation?: { contexts?: unknown };
    };
    const context = (payload.context ?? {}) as { cloudId?: unknown; siteUrl?: unknown };
    if (typeof app.installationId !== 'string' || !app.installationId)
      throw new ForgeAuthError('The Forge invocation token names no installation (app.installationId).');
    // Backend calls (events, lifecycle, scheduled triggers) carry no `context`: the installation's
    // own contexts say which site (cloud id) and where to call it.
    const site = installationContexts(app.installation?.contexts)[0] ?? {};
    return {
      installationId: installationAri(app.installationId),
      apiBaseUrl: text(app.apiBaseUrl) ?? site.apiBaseUrl,
      cloudId: text(context.cloudId) ?? site.cloudId,
      siteUrl: text(context.siteUrl),
      principal: text(payload.principal),
      appSystemToken: headerOf(headers, 'x-forge-oauth-system'),
      appUserToken: headerOf(headers, 'x-forge-oauth-user'),
    };
  }
}

const text = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : undefined);

/**
 * The token's `app.installation.contexts[]`: each an object with `cloudId` and `apiBaseUrl`, or a
 * site's ARI (`ari:cloud:jira::site/<cloudId>`); anything else is skipped.
 */
type SiteContext = { cloudId?: string; apiBaseUrl?: string };
function installationContexts(raw: unknown): SiteContext[] {
  if (!Array.isArray(raw)) return [];
  return raw.flatMap((c: unknown): SiteContext[] => {
    if (typeof c === 'string') {
      const cloudId = /^ari:cloud:[a-z-]+::site\/(.+)$/.exec(c)?.[1];
      return cloudId ? [{ cloudId }] : [];
    }
    if (typeof c !== 'object' || c === null) return [];
    const o = c as { cloudId?: unknown; apiBaseUrl?: unknown };
    return [{ cloudId: text(o.cloudId), apiBaseUrl: text(o.apiBaseUrl) }];
  });
}

function headerOf(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return (Array.isArray(v) ? v[0] : v) || undefined;
}

/** jose's refusals in words an operator can act on (never the token itself). */
function describe(err: unknown): string {
  if (err instanceof errors.JWTExpired) return 'it has expired';
  if (err instanceof errors.JWTClaimValidationFailed) return `its ${err.claim} claim is wrong (${err.reason})`;
  if (err instanceof errors.JWKSNoMatchingKey) return 'no published Forge key matches it';
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'its signature does not verify';
  if (err instanceof errors.JOSEAlgNotAllowed) return 'it is not signed with RS256';
  if (err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid)
    return 'the Forge keys could not be fetched';
  if (err instanceof errors.JOSEError) return err.code;
  return 'it is not a JWT';
}
