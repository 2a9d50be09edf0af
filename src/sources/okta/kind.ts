import { invalidField, validationError } from '../../http/errors';
import { sameSettings } from '../same';
import type { SourceKind } from '../source';
import { credentialFacts, oktaCredentialSchema, parseOktaCredential } from './credential';
import { OKTA_SCOPES, oktaSettingsSchema, type OktaSettings } from './settings';

/** Okta connections as the admin API takes and shows them (see `SourceKind`). */
export const oktaKind: SourceKind<OktaSettings> = {
  kind: 'okta',
  title: 'Okta',
  settingsField: 'okta',
  secretField: 'oktaCredential',
  settingsSchema: oktaSettingsSchema,
  secretSchema: oktaCredentialSchema,
  onlyFor: 'only an Okta connection has Okta settings and an Okta credential',
  probesUsers: true,
  providerOf: () => 'okta',
  label: () => 'Okta',

  /** A key set to null is removed (back to its default); what the credential is comes from it, never from a patch. */
  merge(stored, patch) {
    const old = (stored as Record<string, unknown> | undefined) ?? {};
    const { credential: _fromSecret, ...given } = patch ?? {};
    const merged: Record<string, unknown> = { ...old, ...given };
    for (const [k, v] of Object.entries(given)) if (v === null) delete merged[k];
    const parsed = oktaSettingsSchema.safeParse(merged);
    if (!parsed.success) throw validationError(parsed.error, 'okta');
    return parsed.data;
  },

  secretFacts(secret) {
    const c = parseOktaCredential(secret);
    return typeof c === 'string' ? {} : { credential: credentialFacts(c) };
  },

  /** A private key signs for a service app: its client ID is needed. */
  checkSecret(settings) {
    if (settings.credential?.method === 'privateKey' && !settings.clientId)
      throw invalidField(
        'okta.clientId',
        "okta.clientId: required with a private key (the API service app's client ID)",
        "Required with a private key: the API service app's client ID.",
      );
  },

  /** What the read covers: the org, the scope, the username. */
  movesPosition(before, after) {
    const covered = (s: Partial<OktaSettings> | undefined) => [s?.orgUrl, s?.scope, s?.usernameAttribute];
    return !sameSettings(covered(before as Partial<OktaSettings> | undefined), covered(after));
  },

  present(stored, pull) {
    const o = (stored as Partial<OktaSettings> | undefined) ?? {};
    return {
      orgUrl: o.orgUrl,
      clientId: o.clientId ?? null,
      keyId: o.keyId ?? null,
      scope: o.scope,
      usernameAttribute: o.usernameAttribute,
      scheduleMinutes: o.scheduleMinutes,
      fullReadEveryHours: o.fullReadEveryHours,
      credential: o.credential ?? null,
      oktaCredentialSet: pull.secretSet,
      /** The scopes to grant the service app (Okta API Scopes tab). */
      scopes: [...OKTA_SCOPES],
      lastFullSyncAt: pull.state?.lastFullAt?.toISOString() ?? null,
      lastIncrementalSyncAt: pull.state?.lastIncrementalAt?.toISOString() ?? null,
    };
  },
};
