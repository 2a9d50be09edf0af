import crypto from 'node:crypto';
import type { RequestHandler } from 'express';
import { asyncHandler as wrap } from '../../http/asyncHandler';
import { requireContext } from '../../http/context';
import { generateToken, hashToken } from '../../crypto/tokens';
import { ConnectionNameTaken, type Connection, type ConnectionRepository } from '../../db/connections';
import type { EntraService } from '../../sources/entra/service';
import { entraSettingsSchema, type EntraSettings } from '../../sources/entra/settings';
import type { SourceStateRepository } from '../../sources/state';
import { PullFailed } from '../../sources/source';
import type { LdapService } from '../../sources/ldap/service';
import { ldapSettingsSchema, type LdapSettings } from '../../sources/ldap/settings';
import { AppError, notFound, validationError } from '../../http/errors';
import { presentConnection } from '../presenters';
import type { CreateConnection, TestConnection, TestUser, UpdateConnection } from './schema';
import { rulesOf } from '../../provisioning/rules';
import { jiraGroupsFor } from '../../provisioning/groupMapping';
import { readAttribute } from '../../provisioning/attributes';

export interface ConnectionDeps {
  connections: ConnectionRepository;
  localBaseUrl: string;
  entra: EntraService;
  ldap: LdapService;
  sourceState: SourceStateRepository;
  /** Tells this instance's scheduler that a connection changed (others hear it from Postgres). */
  onConnectionChanged: (id: string) => void;
}

/** A fresh SCIM bearer token (256 bits), with what is stored of it. */
function newToken(): { token: string; hash: string; hint: string } {
  const token = `scim_${generateToken()}`;
  return { token, hash: hashToken(token), hint: token.slice(-4) };
}

const nameTaken = () =>
  new AppError(409, 'conflict', 'A connection with this name already exists.', {
    fields: { name: 'Another connection already has this name.' },
  });

/** A connection as the API shows it, with a pull connection's secret status and sync state. */
async function present(deps: ConnectionDeps, c: Connection) {
  if (c.kind === 'scim') return presentConnection(c, deps.localBaseUrl);
  const [sealed, state] = await Promise.all([
    deps.connections.sealedSecret(c.clientKey, c.id),
    deps.sourceState.get(c.id),
  ]);
  return presentConnection(c, deps.localBaseUrl, { secretSet: !!sealed, state });
}

export const listConnections = (deps: ConnectionDeps): RequestHandler =>
  wrap(async (req, res) => {
    const list = await deps.connections.list(requireContext(req).clientKey);
    res.json({ connections: await Promise.all(list.map((c) => present(deps, c))) });
  });

export const getConnection = (deps: ConnectionDeps): RequestHandler =>
  wrap(async (req, res) => {
    const c = await deps.connections.get(requireContext(req).clientKey, req.params.id);
    if (!c) throw notFound('No such connection.');
    res.json(await present(deps, c));
  });

export const createConnection = (deps: ConnectionDeps): RequestHandler =>
  wrap(async (req, res) => {
    const body = res.locals.body as CreateConnection;
    const { clientKey } = requireContext(req);
    const id = crypto.randomUUID();
    try {
      if (body.kind === 'entra') {
        const { entra, clientSecret, ...fields } = body;
        const c = await deps.connections.create(clientKey, id, fields, undefined, {
          settings: { entra },
          secretEnc: deps.entra.seal(id, clientSecret),
        });
        deps.onConnectionChanged(c.id);
        res
          .status(201)
          .location(`/api/v1/connections/${c.id}`)
          .json(await present(deps, c));
        return;
      }
      if (body.kind === 'ldap') {
        const { ldap, bindPassword, ...fields } = body;
        requirePassword(ldap, bindPassword);
        const c = await deps.connections.create(clientKey, id, { ...fields, provider: ldap.directoryType }, undefined, {
          settings: { ldap },
          secretEnc: bindPassword ? deps.ldap.seal(id, bindPassword) : null,
        });
        deps.onConnectionChanged(c.id);
        res
          .status(201)
          .location(`/api/v1/connections/${c.id}`)
          .json(await present(deps, c));
        return;
      }
      const token = newToken();
      const c = await deps.connections.create(clientKey, id, body, token);
      res
        .status(201)
        .location(`/api/v1/connections/${c.id}`)
        .json({
          ...presentConnection(c, deps.localBaseUrl),
          scim: { ...presentConnection(c, deps.localBaseUrl).scim, token: token.token },
        });
    } catch (err) {
      throw err instanceof ConnectionNameTaken ? nameTaken() : err;
    }
  });

/** Stored Entra settings with a patch merged over them, validated whole (errors name `entra.<field>`). */
function mergedEntra(c: Connection, patch: Record<string, unknown> | undefined): EntraSettings {
  const merged = { ...((c.settings.entra as Record<string, unknown> | undefined) ?? {}), ...(patch ?? {}) };
  for (const [k, v] of Object.entries(patch ?? {})) if (v === null) delete merged[k];
  const parsed = entraSettingsSchema.safeParse(merged);
  if (!parsed.success) throw validationError(parsed.error, 'entra');
  return parsed.data;
}

/** Stored LDAP settings with a patch merged over them (one level deep), validated whole (errors name `ldap.<field>`). */
function mergedLdap(c: Connection, patch: Record<string, unknown> | undefined): LdapSettings {
  const stored = (c.settings.ldap as Record<string, unknown> | undefined) ?? {};
  const merged: Record<string, unknown> = { ...stored };
  for (const [k, v] of Object.entries(patch ?? {})) {
    const old = stored[k];
    merged[k] =
      v && typeof v === 'object' && !Array.isArray(v) && old && typeof old === 'object' && !Array.isArray(old)
        ? { ...old, ...v }
        : v;
  }
  const parsed = ldapSettingsSchema.safeParse(merged);
  if (!parsed.success) throw validationError(parsed.error, 'ldap');
  return parsed.data;
}

/** A bind name needs its password (on create); an anonymous bind has none. */
function requirePassword(ldap: LdapSettings, password: string | undefined): void {
  if (ldap.bindName && !password)
    throw new AppError(400, 'validation_failed', 'bindPassword: required with a bind name', {
      fields: { bindPassword: 'Required: the bind account needs its password.' },
    });
}

export const updateConnection = (deps: ConnectionDeps): RequestHandler =>
  wrap(async (req, res) => {
    const { clientKey } = requireContext(req);
    const body = res.locals.body as UpdateConnection;
    const before = await deps.connections.get(clientKey, req.params.id);
    if (!before) throw notFound('No such connection.');
    if (before.kind !== 'entra' && (body.entra !== undefined || body.clientSecret !== undefined)) {
      throw new AppError(
        400,
        'validation_failed',
        'entra: only an Entra ID connection has Entra settings and a client secret',
        { fields: { entra: 'only for kind "entra"' } },
      );
    }
    if (before.kind !== 'ldap' && (body.ldap !== undefined || body.bindPassword !== undefined)) {
      throw new AppError(
        400,
        'validation_failed',
        'ldap: only an LDAP connection has LDAP settings and a bind password',
        {
          fields: { ldap: 'only for kind "ldap"' },
        },
      );
    }
    if (before.kind !== 'scim' && body.provider !== undefined)
      throw new AppError(400, 'validation_failed', "provider: a pull connection's provider is fixed", {
        fields: { provider: `fixed for kind "${before.kind}"` },
      });
    try {
      if (body.entra !== undefined) {
        const settings = mergedEntra(before, body.entra);
        const old = before.settings.entra as Record<string, unknown> | undefined;
        await deps.connections.saveSettings(clientKey, before.id, { entra: settings });
        // A new scope, filter or set of attributes changes what the delta links cover: read everything next time.
        if (
          JSON.stringify([old?.scope, old?.userFilter, old?.attributes, old?.usernameAttribute, old?.tenantId]) !==
          JSON.stringify([
            settings.scope,
            settings.userFilter,
            settings.attributes,
            settings.usernameAttribute,
            settings.tenantId,
          ])
        ) {
          await deps.sourceState.reset(before.id);
        }
      }
      if (body.clientSecret !== undefined)
        await deps.connections.setSecret(clientKey, before.id, deps.entra.seal(before.id, body.clientSecret));
      if (body.ldap !== undefined)
        await deps.connections.saveSettings(clientKey, before.id, { ldap: mergedLdap(before, body.ldap) });
      if (body.bindPassword !== undefined)
        await deps.connections.setSecret(clientKey, before.id, deps.ldap.seal(before.id, body.bindPassword));
      const c = await deps.connections.update(clientKey, before.id, body);
      if (!c) throw notFound('No such connection.');
      deps.entra.forget(c.id);
      deps.onConnectionChanged(c.id);
      res.json(await present(deps, c));
    } catch (err) {
      throw err instanceof ConnectionNameTaken ? nameTaken() : err;
    }
  });

/**
 * POST /api/v1/connections/{id}/test: an Entra ID connection gets a token and reads a page; an LDAP
 * one binds, reads both base DNs and counts; the answer says what to fix.
 */
export const testConnection = (deps: ConnectionDeps): RequestHandler =>
  wrap(async (req, res) => {
    const { clientKey } = requireContext(req);
    const c = await deps.connections.get(clientKey, req.params.id);
    if (!c) throw notFound('No such connection.');
    if (c.kind === 'ldap') {
      const body = res.locals.body as TestConnection;
      const settings = mergedLdap(c, body.ldap);
      const password = body.bindPassword ?? (await deps.ldap.passwordOf(c));
      return void res.json(await deps.ldap.test(settings, password));
    }
    if (c.kind !== 'entra') {
      throw new AppError(
        400,
        'not_supported',
        'A SCIM connection is tested from the identity provider (for Entra ID: Provisioning → Test Connection); its requests then appear in the sync history.',
      );
    }
    const body = res.locals.body as TestConnection;
    const settings = mergedEntra(c, body.entra);
    let secret = body.clientSecret;
    if (secret === undefined) {
      const sealed = await deps.connections.sealedSecret(clientKey, c.id);
      if (!sealed)
        throw new AppError(400, 'validation_failed', 'clientSecret: no client secret is stored; enter one', {
          fields: { clientSecret: 'Required: no client secret is stored.' },
        });
      secret = deps.entra.openSecret(c.id, sealed);
    }
    res.json(await deps.entra.test(settings, deps.entra.candidate(settings, secret)));
  });

/**
 * POST /api/v1/connections/{id}/test-user (Test Sync): one LDAP user as the directory returns it,
 * and what the connection's rules make of it — Jira email and display name, groups (nested
 * included) and the Jira groups they map to, custom attributes, in scope, active. Changes nothing.
 */
export const testUser = (deps: ConnectionDeps): RequestHandler =>
  wrap(async (req, res) => {
    const { clientKey } = requireContext(req);
    const c = await deps.connections.get(clientKey, req.params.id);
    if (!c) throw notFound('No such connection.');
    if (c.kind !== 'ldap')
      throw new AppError(
        400,
        'not_supported',
        'Test Sync reads one user from an LDAP directory: only for LDAP connections.',
      );
    const body = res.locals.body as TestUser;
    const candidate =
      body.ldap !== undefined || body.bindPassword !== undefined
        ? { settings: mergedLdap(c, body.ldap), password: body.bindPassword ?? (await deps.ldap.passwordOf(c)) }
        : undefined;
    let probe;
    try {
      probe = await deps.ldap.probeUser(c, body.username, candidate);
    } catch (err) {
      if (err instanceof PullFailed) return void res.json({ found: false, message: err.message });
      throw err;
    }
    if (!probe.found) return void res.json(probe);
    const rules = rulesOf(c.settings);
    const read = (path: string | null) => (path ? (readAttribute(probe.resource, path) ?? null) : null);
    const mapped = new Map<string, string>();
    for (const name of [...rules.groups.defaultForAllUsers, ...rules.groups.defaultForNewUsers])
      mapped.set(name.toLowerCase(), name);
    for (const g of probe.groups)
      for (const name of jiraGroupsFor(g.name, rules.groups)) mapped.set(name.toLowerCase(), name);
    res.json({
      ...probe,
      jira: {
        email: read(rules.attributes.email),
        displayName: read(rules.attributes.displayName),
        userName: read(rules.attributes.userName),
        jobTitle: read(rules.attributes.jobTitle),
        department: read(rules.attributes.department),
        groups: [...mapped.values()].sort(),
        properties: Object.fromEntries(rules.attributes.custom.map((m) => [m.propertyKey, read(m.from)])),
      },
    });
  });

export const deleteConnection = (deps: ConnectionDeps): RequestHandler =>
  wrap(async (req, res) => {
    if (!(await deps.connections.delete(requireContext(req).clientKey, req.params.id)))
      throw notFound('No such connection.');
    deps.entra.forget(req.params.id);
    deps.onConnectionChanged(req.params.id);
    res.status(204).end();
  });

export const rotateToken = ({ connections, localBaseUrl, onConnectionChanged }: ConnectionDeps): RequestHandler =>
  wrap(async (req, res) => {
    const token = newToken();
    const c = await connections.setToken(requireContext(req).clientKey, req.params.id, token);
    if (!c) throw notFound('No such SCIM connection.');
    onConnectionChanged(c.id);
    res.json({ ...presentConnection(c, localBaseUrl).scim, token: token.token });
  });
