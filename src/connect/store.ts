import type { Transaction } from 'sequelize';
import type { SecretBox } from '../crypto/secrets';
import type { Models } from '../db/models';
import { CONNECT_SEALED_FIELD, secretContexts } from '../db/sealed';
import type { SiteInstall } from '../db/tenants';

/** The part of ACE's ClientInfo we rely on: what the tenant row keeps, plus the app key and shared secret. */
export interface ClientInfo extends SiteInstall {
  key: string;
  sharedSecret: string;
  [field: string]: unknown;
}

const CLIENT_INFO = 'clientInfo';
const SEALED_FIELD = CONNECT_SEALED_FIELD;
const secretContext = secretContexts.connectSharedSecret;

/**
 * ACE's storage adapter over our own database and models (the AddonSetting rows), so ACE and the
 * add-on share one Postgres and one schema managed by migrations. The Connect shared secret of
 * each tenant is sealed (AES-256-GCM) on the way in and opened on the way out.
 */
export class AddonSettingsStore {
  constructor(
    private readonly models: Models,
    private readonly box: SecretBox,
  ) {}

  /** Reads one value of a tenant. */
  async get<T = unknown>(key: string, clientKey: string): Promise<T | null> {
    const row = await this.models.AddonSetting.findOne({ where: { clientKey, key } });
    return row ? (this.fromStored(key, clientKey, row.val) as T) : null;
  }

  /** Writes one value of a tenant (insert or replace). */
  async set<T = unknown>(key: string, value: T, clientKey: string, transaction?: Transaction): Promise<T> {
    const val = typeof value === 'string' ? safeJson(value) : value;
    await this.models.AddonSetting.upsert(
      { clientKey, key, val: this.toStored(key, clientKey, val), updatedAt: new Date() },
      { transaction },
    );
    return val as T;
  }

  /** Deletes one value, or (one argument) every value of a tenant. */
  async del(keyOrClientKey: string, clientKey?: string, transaction?: Transaction): Promise<void> {
    const where = clientKey === undefined ? { clientKey: keyOrClientKey } : { clientKey, key: keyOrClientKey };
    await this.models.AddonSetting.destroy({ where, transaction });
  }

  /** Every tenant's install payload (secrets opened). */
  async getAllClientInfos(): Promise<ClientInfo[]> {
    const rows = await this.models.AddonSetting.findAll({ where: { key: CLIENT_INFO } });
    return rows.map((r) => this.fromStored(CLIENT_INFO, r.clientKey, r.val) as ClientInfo);
  }

  /** Saves a tenant's install payload. */
  async saveInstallation(value: ClientInfo, clientKey: string, transaction?: Transaction): Promise<ClientInfo> {
    return this.set(CLIENT_INFO, value, clientKey, transaction);
  }

  isMemoryStore(): boolean {
    return false;
  }

  // Forge-to-Connect association is not used by this add-on; ACE only calls these for Forge apps.
  async getClientSettingsForForgeInstallation(): Promise<null> {
    return null;
  }
  async deleteAssociation(): Promise<void> {}
  forForgeInstallation(): never {
    throw new Error('Forge installations are not supported by this add-on');
  }

  private toStored(key: string, clientKey: string, val: unknown): unknown {
    if (key !== CLIENT_INFO || !isRecord(val) || typeof val.sharedSecret !== 'string') return val;
    const { sharedSecret, ...rest } = val;
    return { ...rest, [SEALED_FIELD]: this.box.seal(sharedSecret, secretContext(clientKey)) };
  }

  private fromStored(key: string, clientKey: string, val: unknown): unknown {
    if (key !== CLIENT_INFO || !isRecord(val) || typeof val[SEALED_FIELD] !== 'string') return val;
    const { [SEALED_FIELD]: sealed, ...rest } = val;
    return { ...rest, sharedSecret: this.box.open(sealed, secretContext(clientKey)) };
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return s;
  }
}
