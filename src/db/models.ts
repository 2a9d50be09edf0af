import {
  DataTypes,
  Model,
  type InferAttributes,
  type InferCreationAttributes,
  type CreationOptional,
  type Sequelize,
} from 'sequelize';

/** One Jira Cloud site that installed the add-on. */
export class Tenant extends Model<InferAttributes<Tenant>, InferCreationAttributes<Tenant>> {
  declare clientKey: string;
  declare baseUrl: string;
  declare displayUrl: string | null;
  declare productType: string;
  declare description: string | null;
  declare serverVersion: string | null;
  declare pluginsVersion: string | null;
  /** Forge's key for the site (`ari:cloud:ecosystem::installation/<uuid>`) once installed through Forge. */
  declare installationId: CreationOptional<string | null>;
  declare enabled: boolean;
  declare installedAt: Date;
  declare enabledChangedAt: Date | null;
  declare createdAt: CreationOptional<Date>;
  declare updatedAt: CreationOptional<Date>;
}

/** A tenant's site-admin email + API token (and optional org API key), secrets sealed. */
export class SiteCredential extends Model<InferAttributes<SiteCredential>, InferCreationAttributes<SiteCredential>> {
  declare clientKey: string;
  declare email: string;
  declare apiTokenEnc: string;
  declare tokenAccountId: string | null;
  declare orgId: string | null;
  declare orgApiKeyEnc: string | null;
  declare verifiedAt: Date | null;
  declare updatedBy: string | null;
  declare createdAt: CreationOptional<Date>;
  declare updatedAt: CreationOptional<Date>;
}

/** ACE's key-value store rows (clientInfo and anything else ACE keeps per tenant). */
export class AddonSetting extends Model<InferAttributes<AddonSetting>, InferCreationAttributes<AddonSetting>> {
  declare clientKey: string;
  declare key: string;
  declare val: unknown;
  declare updatedAt: CreationOptional<Date>;
}

/** The model classes bound to one Sequelize instance. */
export interface Models {
  Tenant: typeof Tenant;
  SiteCredential: typeof SiteCredential;
  AddonSetting: typeof AddonSetting;
}

/**
 * Binds fresh subclasses of the models to a Sequelize instance, so two instances in one process
 * (tests, benchmarks) never share a binding. Tables come from migrations, never from sync().
 */
export function defineModels(sequelize: Sequelize): Models {
  const text = (allowNull = true) => ({ type: DataTypes.TEXT, allowNull });
  const TenantModel = class extends Tenant {};
  const SiteCredentialModel = class extends SiteCredential {};
  const AddonSettingModel = class extends AddonSetting {};
  TenantModel.init(
    {
      clientKey: { type: DataTypes.TEXT, primaryKey: true },
      baseUrl: text(false),
      displayUrl: text(),
      productType: text(false),
      description: text(),
      serverVersion: text(),
      pluginsVersion: text(),
      installationId: text(),
      enabled: { type: DataTypes.BOOLEAN, allowNull: false },
      installedAt: { type: DataTypes.DATE, allowNull: false },
      enabledChangedAt: { type: DataTypes.DATE, allowNull: true },
      createdAt: DataTypes.DATE,
      updatedAt: DataTypes.DATE,
    },
    { sequelize, modelName: 'Tenant', tableName: 'tenants', underscored: true },
  );
  SiteCredentialModel.init(
    {
      clientKey: { type: DataTypes.TEXT, primaryKey: true },
      email: text(false),
      apiTokenEnc: text(false),
      tokenAccountId: text(),
      orgId: text(),
      orgApiKeyEnc: text(),
      verifiedAt: { type: DataTypes.DATE, allowNull: true },
      updatedBy: text(),
      createdAt: DataTypes.DATE,
      updatedAt: DataTypes.DATE,
    },
    { sequelize, modelName: 'SiteCredential', tableName: 'site_credentials', underscored: true },
  );
  AddonSettingModel.init(
    {
      clientKey: { type: DataTypes.TEXT, primaryKey: true },
      key: { type: DataTypes.TEXT, primaryKey: true },
      val: { type: DataTypes.JSONB, allowNull: false },
      updatedAt: DataTypes.DATE,
    },
    { sequelize, modelName: 'AddonSetting', tableName: 'addon_settings', underscored: true, createdAt: false },
  );
  return { Tenant: TenantModel, SiteCredential: SiteCredentialModel, AddonSetting: AddonSettingModel };
}
