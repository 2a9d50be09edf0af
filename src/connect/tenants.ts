import type { Transaction } from 'sequelize';
import type { Models, Tenant } from '../db/models';
import type { ClientInfo } from './store';

/** Tenant rows: one per Jira site (clientKey), written by the install lifecycle. */
export class TenantRepository {
  constructor(private readonly models: Models) {}

  /** Records an install or reinstall; a reinstall keeps the enabled state and first install time. */
  async saveInstall(info: ClientInfo, transaction: Transaction): Promise<void> {
    const existing = await this.models.Tenant.findByPk(info.clientKey, { transaction, lock: transaction.LOCK.UPDATE });
    const fields = {
      baseUrl: info.baseUrl,
      displayUrl: info.displayUrl ?? null,
      productType: info.productType ?? 'jira',
      description: info.description ?? null,
      serverVersion: info.serverVersion ?? null,
      pluginsVersion: info.pluginsVersion ?? null,
    };
    if (existing) {
      await existing.update(fields, { transaction });
    } else {
      await this.models.Tenant.create({ clientKey: info.clientKey, ...fields, enabled: false, installedAt: new Date(), enabledChangedAt: null }, { transaction });
    }
  }

  /** Records the enabled / disabled lifecycle events. */
  async setEnabled(clientKey: string, enabled: boolean): Promise<boolean> {
    const [count] = await this.models.Tenant.update({ enabled, enabledChangedAt: new Date() }, { where: { clientKey } });
    return count > 0;
  }

  /** Removes the tenant row; every table of ours that belongs to a tenant cascades from it. */
  async delete(clientKey: string, transaction: Transaction): Promise<void> {
    await this.models.Tenant.destroy({ where: { clientKey }, transaction });
  }

  find(clientKey: string): Promise<Tenant | null> {
    return this.models.Tenant.findByPk(clientKey);
  }
}
