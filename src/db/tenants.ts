import { Op, UniqueConstraintError, type Transaction } from 'sequelize';
import type { Models, Tenant } from './models';

/** What an install tells us about a site (Connect's install payload, in part). */
export interface SiteInstall {
  clientKey: string;
  baseUrl: string;
  displayUrl?: string;
  productType?: string;
  description?: string;
  serverVersion?: string;
  pluginsVersion?: string;
}

/** Tenant rows: one per Jira site (clientKey), written by the install lifecycle. */
export class TenantRepository {
  constructor(private readonly models: Models) {}

  /**
   * Records an install. For a site already known (a reinstall, an upgrade, or the Forge install
   * that replaces a Connect one) it is an update: the site's data, first install time and enabled
   * state stay. A new site counts as enabled: Forge never sends the enabled event.
   */
  async saveInstall(info: SiteInstall, installationId: string | undefined, transaction: Transaction): Promise<void> {
    const existing = await this.models.Tenant.findByPk(info.clientKey, { transaction, lock: transaction.LOCK.UPDATE });
    if (installationId) {
      // One installation, one site: a stale claim by another clientKey gives way to the newest install.
      await this.models.Tenant.update(
        { installationId: null },
        { where: { installationId, clientKey: { [Op.ne]: info.clientKey } }, transaction },
      );
    }
    const fields = {
      baseUrl: info.baseUrl,
      displayUrl: info.displayUrl ?? null,
      productType: info.productType ?? 'jira',
      description: info.description ?? null,
      serverVersion: info.serverVersion ?? null,
      pluginsVersion: info.pluginsVersion ?? null,
      ...(installationId ? { installationId } : {}),
    };
    if (existing) {
      await existing.update(fields, { transaction });
    } else {
      await this.models.Tenant.create(
        { clientKey: info.clientKey, ...fields, enabled: true, installedAt: new Date(), enabledChangedAt: null },
        { transaction },
      );
    }
  }

  /** Records the enabled / disabled lifecycle events (sent by Connect only; nothing depends on them). */
  async setEnabled(clientKey: string, enabled: boolean): Promise<boolean> {
    const [count] = await this.models.Tenant.update(
      { enabled, enabledChangedAt: new Date() },
      { where: { clientKey } },
    );
    return count > 0;
  }

  /** Removes the tenant row; every table of ours that belongs to a tenant cascades from it. */
  async delete(clientKey: string, transaction: Transaction): Promise<void> {
    await this.models.Tenant.destroy({ where: { clientKey }, transaction });
  }

  find(clientKey: string): Promise<Tenant | null> {
    return this.models.Tenant.findByPk(clientKey);
  }

  /** The site a Forge installation belongs to (its id as a bare UUID or as the ARI); null when none is known. */
  findByInstallation(installationId: string): Promise<Tenant | null> {
    return this.models.Tenant.findOne({ where: { installationId: installationAri(installationId) } });
  }

  /**
   * Associates a Forge installation with a site this server already has (a Connect install carried
   * over): the site keeps its key and everything under it. An installation names one site, so a
   * stale claim of the same installation by another site gives way. Null when no such site exists.
   */
  async claim(clientKey: string, installationId: string): Promise<Tenant | null> {
    const ari = installationAri(installationId);
    try {
      return await this.models.Tenant.sequelize!.transaction(async (transaction) => {
        const tenant = await this.models.Tenant.findByPk(clientKey, { transaction, lock: transaction.LOCK.UPDATE });
        if (!tenant) return null;
        if (tenant.installationId === ari) return tenant;
        await this.models.Tenant.update(
          { installationId: null },
          { where: { installationId: ari, clientKey: { [Op.ne]: clientKey } }, transaction },
        );
        return tenant.update({ installationId: ari }, { transaction });
      });
    } catch (err) {
      // Two calls of the same installation claimed it at once: the other one's claim stands.
      if (err instanceof UniqueConstraintError) return this.findByInstallation(ari);
      throw err;
    }
  }

  /**
   * The one site at this URL that no installation has claimed yet (a Connect site installed from
   * its descriptor, before Forge), claimed for this installation; null when there is none, or more
   * than one and the URL cannot tell them apart.
   */
  async claimUnclaimedAt(baseUrl: string, installationId: string): Promise<Tenant | null> {
    const url = baseUrl.replace(/\/+$/, '');
    const unclaimed = await this.models.Tenant.findAll({ where: { baseUrl: [url, `${url}/`], installationId: null } });
    return unclaimed.length === 1 ? this.claim(unclaimed[0].clientKey, installationId) : null;
  }

  /** A new site installed through Forge alone, keyed by its installation's ARI (made once, however often asked). */
  async createForge(installationId: string, site: { baseUrl: string; displayUrl?: string }): Promise<Tenant> {
    const ari = installationAri(installationId);
    const [tenant] = await this.models.Tenant.findOrCreate({
      where: { clientKey: ari },
      defaults: {
        clientKey: ari,
        baseUrl: site.baseUrl,
        displayUrl: site.displayUrl ?? site.baseUrl,
        productType: 'jira',
        description: null,
        serverVersion: null,
        pluginsVersion: null,
        installationId: ari,
        enabled: true,
        installedAt: new Date(),
        enabledChangedAt: null,
      },
    });
    return tenant;
  }
}

/** Whether a tenant was installed through Forge alone (keyed by its installation, with no Connect secret). */
export function isForgeOnly(clientKey: string): boolean {
  return clientKey.startsWith(ARI_PREFIX);
}

const ARI_PREFIX = 'ari:cloud:ecosystem::installation/';

/** Forge names an installation by a bare UUID in some places and by its ARI in others: keep the ARI. */
export function installationAri(id: string): string {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)
    ? ARI_PREFIX + id.toLowerCase()
    : id;
}
