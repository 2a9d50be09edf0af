import { z } from 'zod';
import { invalidField, validationError } from '../../http/errors';
import { sameSettings } from '../same';
import type { SourceKind } from '../source';
import { ldapSettingsSchema, type LdapSettings } from './settings';

const LABELS: Record<string, string> = {
  activeDirectory: 'Active Directory (LDAP)',
  openldap: 'OpenLDAP',
  other: 'LDAP directory',
};

/** LDAP / Active Directory connections as the admin API takes and shows them (see `SourceKind`). */
export const ldapKind: SourceKind<LdapSettings> = {
  kind: 'ldap',
  title: 'LDAP',
  settingsField: 'ldap',
  secretField: 'bindPassword',
  settingsSchema: ldapSettingsSchema,
  /** The bind account's password (write-only); none for an anonymous bind. */
  secretSchema: z.string().min(1, 'must not be empty').max(1024, 'at most 1,024 characters').optional(),
  onlyFor: 'only an LDAP connection has LDAP settings and a bind password',
  probesUsers: true,
  providerOf: (settings) => settings.directoryType,
  label: (provider) => LABELS[provider] ?? 'LDAP',

  /** Merged one level deep: `{"users": {"filter": …}}` keeps the users' other settings. */
  merge(stored, patch) {
    const old = (stored as Record<string, unknown> | undefined) ?? {};
    const merged: Record<string, unknown> = { ...old };
    for (const [k, v] of Object.entries(patch ?? {})) {
      const was = old[k];
      merged[k] = isObject(v) && isObject(was) ? { ...was, ...v } : v;
    }
    const parsed = ldapSettingsSchema.safeParse(merged);
    if (!parsed.success) throw validationError(parsed.error, 'ldap');
    return parsed.data;
  },

  /** A bind name needs its password; an anonymous bind has none. */
  checkSecret(settings, password) {
    if (settings.bindName && !password)
      throw invalidField(
        'bindPassword',
        'bindPassword: required with a bind name',
        'Required: the bind account needs its password.',
      );
  },

  /**
   * Any change but the schedule and the timeout: a new server, bind account, base DN, filter,
   * attribute or membership model changes what the cursor covers (a user out of a narrowed filter
   * is seen gone only by a full read), so the next read is full.
   */
  movesPosition(before, after) {
    const covered = (s: Partial<LdapSettings> | undefined) => {
      if (!s) return undefined;
      const { scheduleMinutes: _every, timeoutMs: _wait, ...rest } = s;
      return rest;
    };
    return !sameSettings(covered(before as Partial<LdapSettings> | undefined), covered(after));
  },

  /** Every setting as stored (the CA certificate is public); the bind password never, only whether one is set. */
  present(stored, pull) {
    return { ...(stored as Record<string, unknown> | undefined), bindPasswordSet: pull.secretSet };
  },
};

const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
