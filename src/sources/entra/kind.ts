import { z } from 'zod';
import { validationError } from '../../http/errors';
import { sameSettings } from '../same';
import type { SourceKind } from '../source';
import { entraSettingsSchema, type EntraSettings } from './settings';

/** Entra ID connections as the admin API takes and shows them (see `SourceKind`). */
export const entraKind: SourceKind<EntraSettings> = {
  kind: 'entra',
  title: 'Entra ID',
  settingsField: 'entra',
  secretField: 'clientSecret',
  settingsSchema: entraSettingsSchema,
  secretSchema: z
    .string()
    .min(1, 'must not be empty')
    .max(1024, 'at most 1,024 characters')
    .refine((v) => v.trim() === v, 'must not start or end with spaces'),
  createExtras: { provider: z.literal('entra').default('entra') },
  onlyFor: 'only an Entra ID connection has Entra settings and a client secret',
  probesUsers: false,
  providerOf: () => 'entra',
  label: () => 'Microsoft Entra ID (Graph)',

  /** A key set to null is removed (back to its default). */
  merge(stored, patch) {
    const merged = { ...((stored as Record<string, unknown> | undefined) ?? {}), ...(patch ?? {}) };
    for (const [k, v] of Object.entries(patch ?? {})) if (v === null) delete merged[k];
    const parsed = entraSettingsSchema.safeParse(merged);
    if (!parsed.success) throw validationError(parsed.error, 'entra');
    return parsed.data;
  },

  /** A new scope, filter, tenant or set of attributes changes what the delta links cover. */
  movesPosition(before, after) {
    const old = before as Partial<EntraSettings> | undefined;
    const covered = (s: Partial<EntraSettings> | undefined) => [
      s?.scope,
      s?.userFilter,
      s?.attributes,
      s?.usernameAttribute,
      s?.tenantId,
    ];
    return !sameSettings(covered(old), covered(after));
  },

  present(stored, pull) {
    return {
      ...presentSettings(stored as Partial<EntraSettings> | undefined),
      clientSecretSet: pull.secretSet,
      lastFullSyncAt: pull.state?.lastFullAt?.toISOString() ?? null,
      lastIncrementalSyncAt: pull.state?.lastIncrementalAt?.toISOString() ?? null,
      incrementalReady: !!pull.state?.usersDeltaLink,
    };
  },
};

/** A connection's Entra ID settings, field by field (the client secret is never among them). */
function presentSettings(e: Partial<EntraSettings> | undefined) {
  if (!e) return {};
  const scope = e.scope && {
    kind: e.scope.kind,
    ...(e.scope.kind === 'application' ? { servicePrincipalId: e.scope.servicePrincipalId, appId: e.scope.appId } : {}),
    ...(e.scope.kind === 'groups' ? { groupIds: e.scope.groupIds } : {}),
  };
  return {
    tenantId: e.tenantId,
    clientId: e.clientId,
    cloud: e.cloud,
    authorityHost: e.authorityHost,
    graphUrl: e.graphUrl,
    usernameAttribute: e.usernameAttribute,
    attributes: e.attributes,
    scope,
    userFilter: e.userFilter,
    scheduleMinutes: e.scheduleMinutes,
  };
}
