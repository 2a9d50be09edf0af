import type { Tenant } from '../db/models';
import type { TenantRepository } from '../db/tenants';
import { JiraError } from '../jira/errors';
import type { ForgeSiteFacts } from '../jira/forgeSite';
import type { ForgeInvocation } from './invocation';

/** How a Forge call's site was found. */
export type SiteFound =
  /** The installation was already associated with a site here (every call after the first). */
  | { tenant: Tenant; how: 'known' }
  /** A site on the Connect version, now associated with this installation: `by` says what matched. */
  | { tenant: Tenant; how: 'carried-over'; by: 'connect-client-key' | 'site-url' }
  /** A new site, installed through Forge alone. */
  | { tenant: Tenant; how: 'created' };

/** Why a Forge call's site was not found. */
export type SiteMissing =
  /** Jira named the site, and this server has none for it (and the call may not make one). */
  | { tenant?: undefined; how: 'none'; baseUrl: string }
  /** Jira could not be asked, or did not answer: `why` is one sentence that says what to check. */
  | { tenant?: undefined; how: 'unresolved'; why: string; retryable: boolean };

export type SiteLookup = SiteFound | SiteMissing;

export interface ForgeSitesDeps {
  tenants: TenantRepository;
  /** Asks Jira (serverInfo, the Connect clientKey property) with the app system token a call brought. */
  readSite: (apiBaseUrl: string, systemToken: string) => Promise<ForgeSiteFacts>;
}

/**
 * Finds the site a verified Forge call speaks for, from what Forge really sends. Backend calls
 * (lifecycle, product events, scheduled triggers, preUninstall) carry no `context`: only the
 * installation id, the installation's contexts (cloud id, API base URL) and the app system token.
 * So an installation seen for the first time is looked up in Jira — its URL from `serverInfo`, the
 * Connect `clientKey` from the reserved app property — and then associated with the site it names:
 * the Connect site with that clientKey (its data carries over), else the one unclaimed Connect site
 * at that URL (a descriptor install), else, where the call may, a new Forge-only site. The
 * association is stored, so every later call is one indexed read. A UI call's `context.siteUrl`
 * stands in for `serverInfo` when Jira cannot be asked.
 */
export class ForgeSites {
  /** Lookups under way, per installation: concurrent first calls ask Jira once. */
  private readonly pending = new Map<string, Promise<SiteLookup>>();

  constructor(private readonly d: ForgeSitesDeps) {}

  /** The site of a call; with `create`, a site Jira names and this server lacks is made. */
  async find(inv: ForgeInvocation, opts: { create: boolean }): Promise<SiteLookup> {
    const known = await this.d.tenants.findByInstallation(inv.installationId);
    if (known) return { tenant: known, how: 'known' };
    const key = `${inv.installationId}\n${opts.create}`;
    let lookup = this.pending.get(key);
    if (!lookup) {
      lookup = this.lookUp(inv, opts).finally(() => this.pending.delete(key));
      this.pending.set(key, lookup);
    }
    return lookup;
  }

  private async lookUp(inv: ForgeInvocation, opts: { create: boolean }): Promise<SiteLookup> {
    const facts = await this.facts(inv);
    if ('why' in facts) return facts;
    if (facts.connectClientKey) {
      const tenant = await this.d.tenants.claim(facts.connectClientKey, inv.installationId);
      if (tenant) return { tenant, how: 'carried-over', by: 'connect-client-key' };
    }
    const byUrl = await this.d.tenants.claimUnclaimedAt(facts.baseUrl, inv.installationId);
    if (byUrl) return { tenant: byUrl, how: 'carried-over', by: 'site-url' };
    if (!opts.create) return { how: 'none', baseUrl: facts.baseUrl };
    return { tenant: await this.d.tenants.createForge(inv.installationId, facts), how: 'created' };
  }

  /** What Jira says of the installation's site; a UI call's own site URL when Jira cannot be asked. */
  private async facts(inv: ForgeInvocation): Promise<ForgeSiteFacts | Extract<SiteMissing, { how: 'unresolved' }>> {
    if (!inv.appSystemToken || !inv.apiBaseUrl) {
      if (inv.siteUrl) return { baseUrl: inv.siteUrl.replace(/\/+$/, '') };
      return {
        how: 'unresolved',
        retryable: false,
        why: !inv.apiBaseUrl
          ? 'the invocation token names no API base URL for the installation, so Jira cannot be asked which site it is on'
          : "the call brought no app system token: check that the manifest's endpoints ask for it (auth.appSystemToken: enabled, as `npm run manifest` writes them) and deploy again",
      };
    }
    try {
      return await this.d.readSite(inv.apiBaseUrl, inv.appSystemToken);
    } catch (err) {
      if (inv.siteUrl) return { baseUrl: inv.siteUrl.replace(/\/+$/, '') };
      if (!(err instanceof JiraError)) throw err;
      return {
        how: 'unresolved',
        retryable: err.retryable,
        why: err.retryable
          ? `Jira did not answer which site the installation is on (${err.message}); Forge delivers the call again`
          : `Jira refused to say which site the installation is on (${err.message}): check the manifest's scopes (read:jira-user, read:app-data:jira) and that FORGE_APP_ID is the deployed app's id`,
      };
    }
  }
}
