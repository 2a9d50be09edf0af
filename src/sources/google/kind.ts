import { validationError } from '../../http/errors';
import { sameSettings } from '../same';
import type { SourceKind } from '../source';
import { parseServiceAccountKey, publicFacts, serviceAccountKeySchema } from './key';
import { GOOGLE_SCOPES, googleSettingsSchema, type GoogleSettings } from './settings';

/** Google Workspace connections as the admin API takes and shows them (see `SourceKind`). */
export const googleKind: SourceKind<GoogleSettings> = {
  kind: 'google',
  title: 'Google Workspace',
  settingsField: 'google',
  secretField: 'serviceAccountKey',
  settingsSchema: googleSettingsSchema,
  secretSchema: serviceAccountKeySchema,
  onlyFor: 'only a Google Workspace connection has Google settings and a service account key',
  probesUsers: true,
  providerOf: () => 'google',
  label: () => 'Google Workspace',

  /** A key set to null is removed (back to its default); the service account's facts come from its key, never from a patch. */
  merge(stored, patch) {
    const old = (stored as Record<string, unknown> | undefined) ?? {};
    const { serviceAccount: _fromKey, ...given } = patch ?? {};
    const merged: Record<string, unknown> = { ...old, ...given };
    for (const [k, v] of Object.entries(given)) if (v === null) delete merged[k];
    const parsed = googleSettingsSchema.safeParse(merged);
    if (!parsed.success) throw validationError(parsed.error, 'google');
    return parsed.data;
  },

  secretFacts(secret) {
    const key = parseServiceAccountKey(secret);
    return typeof key === 'string' ? {} : { serviceAccount: publicFacts(key) };
  },

  /** What the read covers: the account, the admin, the scope, the query, the attributes. */
  movesPosition(before, after) {
    const covered = (s: Partial<GoogleSettings> | undefined) => [
      s?.customerId,
      s?.adminEmail,
      s?.scope,
      s?.userQuery,
      s?.usernameAttribute,
      s?.groupName,
      s?.customSchemas,
    ];
    return !sameSettings(covered(before as Partial<GoogleSettings> | undefined), covered(after));
  },

  present(stored, pull) {
    const g = (stored as Partial<GoogleSettings> | undefined) ?? {};
    return {
      customerId: g.customerId,
      adminEmail: g.adminEmail,
      scope: g.scope,
      userQuery: g.userQuery,
      usernameAttribute: g.usernameAttribute,
      groupName: g.groupName,
      customSchemas: g.customSchemas,
      scheduleMinutes: g.scheduleMinutes,
      fullReadEveryHours: g.fullReadEveryHours,
      serviceAccount: g.serviceAccount ?? null,
      serviceAccountKeySet: pull.secretSet,
      /** To paste into the Admin console (Security → API controls → Domain-wide delegation). */
      delegation: { clientId: g.serviceAccount?.clientId ?? null, scopes: [...GOOGLE_SCOPES] },
      lastFullSyncAt: pull.state?.lastFullAt?.toISOString() ?? null,
      lastIncrementalSyncAt: pull.state?.lastIncrementalAt?.toISOString() ?? null,
    };
  },
};
