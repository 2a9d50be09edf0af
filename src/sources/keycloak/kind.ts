import { z } from 'zod';
import { validationError } from '../../http/errors';
import { sameSettings } from '../same';
import type { SourceKind } from '../source';
import { KEYCLOAK_ROLES, keycloakSettingsSchema, type KeycloakSettings } from './settings';

/** Keycloak connections as the admin API takes and shows them (see `SourceKind`). */
export const keycloakKind: SourceKind<KeycloakSettings> = {
  kind: 'keycloak',
  title: 'Keycloak',
  settingsField: 'keycloak',
  secretField: 'keycloakClientSecret',
  settingsSchema: keycloakSettingsSchema,
  secretSchema: z
    .string({ required_error: "Required: the client's secret (Clients → the client → Credentials)" })
    .min(1, 'must not be empty')
    .max(1024, 'at most 1,024 characters'),
  onlyFor: 'only a Keycloak connection has Keycloak settings and a Keycloak client secret',
  probesUsers: true,
  providerOf: () => 'keycloak',
  label: () => 'Keycloak',

  /** A key set to null is removed (back to its default). */
  merge(stored, patch) {
    const merged: Record<string, unknown> = { ...((stored as Record<string, unknown> | undefined) ?? {}), ...patch };
    for (const [k, v] of Object.entries(patch ?? {})) if (v === null) delete merged[k];
    const parsed = keycloakSettingsSchema.safeParse(merged);
    if (!parsed.success) throw validationError(parsed.error, 'keycloak');
    return parsed.data;
  },

  /** What the read covers: the server, the realm, the scope, the names. */
  movesPosition(before, after) {
    const covered = (s: Partial<KeycloakSettings> | undefined) => [
      s?.serverUrl,
      s?.realm,
      s?.scope,
      s?.usernameAttribute,
      s?.groupName,
    ];
    return !sameSettings(covered(before as Partial<KeycloakSettings> | undefined), covered(after));
  },

  present(stored, pull) {
    const k = (stored as Partial<KeycloakSettings> | undefined) ?? {};
    return {
      serverUrl: k.serverUrl,
      realm: k.realm,
      clientRealm: k.clientRealm ?? null,
      clientId: k.clientId,
      scope: k.scope,
      usernameAttribute: k.usernameAttribute,
      groupName: k.groupName,
      scheduleMinutes: k.scheduleMinutes,
      fullReadEveryHours: k.fullReadEveryHours,
      keycloakClientSecretSet: pull.secretSet,
      /** The realm-management roles to give the client's service account. */
      roles: [...KEYCLOAK_ROLES],
      lastFullSyncAt: pull.state?.lastFullAt?.toISOString() ?? null,
      lastIncrementalSyncAt: pull.state?.lastIncrementalAt?.toISOString() ?? null,
    };
  },
};
