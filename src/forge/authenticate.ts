import crypto from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import type { ForgeTokenRepository } from '../db/forgeTokens';
import type { Tenant } from '../db/models';
import { asyncHandler } from '../http/asyncHandler';
import { AppError, unauthorized } from '../http/errors';
import type { Logger } from '../logger';
import { ForgeAuthError, type ForgeInvocation, type InvocationVerifier } from './invocation';
import type { ForgeSites, SiteFound, SiteMissing } from './sites';

export interface ForgeTrustDeps {
  verifier: InvocationVerifier;
  sites: ForgeSites;
  tokens: ForgeTokenRepository;
  logger: Logger;
  /** A site's app system token changed (drop cached transports; wake runs that waited for it). */
  onFreshToken?: (clientKey: string) => void;
}

/** What a verified Forge call leaves on the request, beside the host-neutral context. */
export interface ForgeCall {
  invocation: ForgeInvocation;
  tenant: Tenant;
  /** How the site was found: already known, carried over from Connect, or made for a Forge-only install. */
  found: SiteFound;
}

/** A verified call whose site was not found (see `SiteMissing`). */
export interface ForgeMiss {
  invocation: ForgeInvocation;
  tenant?: undefined;
  missing: SiteMissing;
}

/**
 * Trust through Forge: a call's Forge Invocation Token is verified, the site is found by the
 * token's installation (looked up in Jira the first time: carried over from Connect, or, with
 * `create`, made for a Forge-only install), the app system token and API base URL it brought are kept (sealed) when they changed,
 * and the request's context names the site and the user in session (`principal`). A refused token
 * is the one 401 a Forge endpoint gives: Forge reserves 401 for "could not verify the token".
 */
export class ForgeTrust {
  /** The last system token seen per site (a hash), so an unchanged one costs no write. */
  private readonly seen = new Map<string, string>();

  constructor(private readonly d: ForgeTrustDeps) {}

  /** Express middleware: verify, find the site, keep its tokens, set `req.context` (and `req.forge`). */
  authenticate(opts: { create: boolean }): RequestHandler {
    return asyncHandler(async (req, _res, next) => {
      const call = await this.verify(req, opts);
      if (!call.tenant) {
        const { missing } = call;
        if (missing.how === 'unresolved' && missing.retryable)
          throw new AppError(503, 'jira_unavailable', `The app could not find this site: ${missing.why}.`);
        throw new AppError(
          404,
          'not_installed',
          missing.how === 'unresolved'
            ? `The app could not find this site: ${missing.why}.`
            : 'This Forge installation has no site on this server (it was uninstalled, or has not been installed yet).',
        );
      }
      Object.assign(req, {
        forge: call,
        context: {
          clientKey: call.tenant.clientKey,
          userAccountId: call.invocation.principal,
          hostBaseUrl: call.tenant.baseUrl,
        },
      });
      next();
    });
  }

  /**
   * The verified call and its site, found from what the call carries (see ForgeSites); where the
   * site is found, the tokens the call brought are kept. A refused token is a 401 AppError.
   */
  async verify(req: Request, opts: { create: boolean }): Promise<ForgeCall | ForgeMiss> {
    let invocation: ForgeInvocation;
    try {
      invocation = await this.d.verifier.verify(req.headers);
    } catch (err) {
      if (err instanceof ForgeAuthError) throw unauthorized(err.message);
      throw err;
    }
    const found = await this.d.sites.find(invocation, opts);
    if (!found.tenant) return { invocation, missing: found };
    await this.keepTokens(found.tenant.clientKey, invocation);
    return { invocation, tenant: found.tenant, found };
  }

  private async keepTokens(clientKey: string, inv: ForgeInvocation): Promise<void> {
    if (!inv.apiBaseUrl || !inv.appSystemToken) return;
    const hash = crypto.createHash('sha256').update(`${inv.apiBaseUrl}\n${inv.appSystemToken}`).digest('base64url');
    if (this.seen.get(clientKey) === hash) return;
    await this.d.tokens.save(clientKey, { apiBaseUrl: inv.apiBaseUrl, systemToken: inv.appSystemToken });
    if (this.seen.size >= 10_000) this.seen.delete(this.seen.keys().next().value!);
    this.seen.set(clientKey, hash);
    this.d.logger.debug({ clientKey }, 'Forge app system token kept');
    this.d.onFreshToken?.(clientKey);
  }

  /** Forgets a removed site's token hash (a reinstall saves its tokens again). */
  forget(clientKey: string): void {
    this.seen.delete(clientKey);
  }
}

/** The verified Forge call of a request behind `ForgeTrust.authenticate`. */
export function forgeCall(req: Request): ForgeCall {
  const call = (req as Request & { forge?: ForgeCall }).forge;
  if (!call) throw new Error('route is missing its Forge authentication');
  return call;
}
