import crypto from 'node:crypto';
import type { RequestHandler } from 'express';
import { asyncHandler as wrap } from '../../http/asyncHandler';
import { requireContext } from '../../http/context';
import { generateToken, hashToken } from '../../crypto/tokens';
import { ConnectionNameTaken, type Connection, type ConnectionRepository } from '../../db/connections';
import type { SourceStateRepository } from '../../sources/state';
import { kindOf, SOURCE_KINDS, type PullSources } from '../../sources/registry';
import type { PullSource, SourceKind } from '../../sources/source';
import { conflict, invalidField, notFound, notSupported } from '../../http/errors';
import { presentConnection, presentScim } from '../presenters';
import { createConnectionSchema, testConnectionSchema, testUserSchema, updateConnectionSchema } from './schema';
import { withBody } from '../validate';
import { rulesOf } from '../../provisioning/rules';
import { jiraGroupsFor } from '../../provisioning/planning/groupMapping';
import { readAttribute } from '../../provisioning/planning/attributes';

export interface ConnectionDeps {
  connections: ConnectionRepository;
  localBaseUrl: string;
  sources: PullSources;
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
  conflict('conflict', 'A connection with this name already exists.', {
    fields: { name: 'Another connection already has this name.' },
  });

/** A connection as the API shows it, with a pull connection's secret status and sync state. */
async function present(deps: ConnectionDeps, c: Connection) {
  if (!kindOf(c.kind)) return presentConnection(c, deps.localBaseUrl);
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
  withBody(createConnectionSchema, async (body, req, res) => {
    const { clientKey } = requireContext(req);
    const id = crypto.randomUUID();
    try {
      const { name, target, importUsers, importGroups } = body;
      const fields = { name, kind: body.kind, target, importUsers, importGroups };
      const kind = kindOf(body.kind);
      if (kind) {
        const secret = body[kind.secretField] as string | undefined;
        const settings = withSecretFacts(kind, body[kind.settingsField], secret);
        kind.checkSecret?.(settings, secret);
        const c = await deps.connections.create(
          clientKey,
          id,
          { ...fields, provider: kind.providerOf(settings) },
          undefined,
          {
            settings: { [kind.settingsField]: settings },
            secretEnc: secret ? sourceOf(deps, kind).seal(id, secret) : null,
          },
        );
        deps.onConnectionChanged(c.id);
        res
          .status(201)
          .location(`/api/v1/connections/${c.id}`)
          .json(await present(deps, c));
        return;
      }
      const token = newToken();
      const c = await deps.connections.create(
        clientKey,
        id,
        { ...fields, provider: body.provider ?? 'generic' },
        token,
      );
      res
        .status(201)
        .location(`/api/v1/connections/${c.id}`)
        .json({
          ...presentConnection(c, deps.localBaseUrl),
          scim: { ...presentScim(c, deps.localBaseUrl), token: token.token },
        });
    } catch (err) {
      throw err instanceof ConnectionNameTaken ? nameTaken() : err;
    }
  });

/** The run-time source of a pull kind (registered beside its description). */
function sourceOf(deps: ConnectionDeps, kind: SourceKind): PullSource {
  const source = deps.sources.forKind(kind.kind);
  if (!source) throw new Error(`no pull source is registered for kind "${kind.kind}"`);
  return source;
}

/** Settings with what may be kept of a secret being saved (`SourceKind.secretFacts`). */
function withSecretFacts(kind: SourceKind, settings: unknown, secret: string | undefined): unknown {
  const facts = secret !== undefined ? kind.secretFacts?.(secret) : undefined;
  return facts ? { ...(settings as Record<string, unknown>), ...facts } : settings;
}

/** A connection's stored settings with the request's patch merged over them, validated whole. */
function merged(kind: SourceKind, c: Connection, body: Record<string, unknown>): unknown {
  return kind.merge(c.settings[kind.settingsField], body[kind.settingsField] as Record<string, unknown> | undefined);
}

/** Refuses a source's fields sent for a connection of another kind. */
function refuseOtherKinds(c: Connection, body: Record<string, unknown>): void {
  for (const other of Object.values(SOURCE_KINDS)) {
    if (other.kind === c.kind) continue;
    if (body[other.settingsField] !== undefined || body[other.secretField] !== undefined)
      throw invalidField(
        other.settingsField,
        `${other.settingsField}: ${other.onlyFor}`,
        `only for kind "${other.kind}"`,
      );
  }
}

export const updateConnection = (deps: ConnectionDeps): RequestHandler =>
  withBody(updateConnectionSchema, async (body, req, res) => {
    const { clientKey } = requireContext(req);
    const before = await deps.connections.get(clientKey, req.params.id);
    if (!before) throw notFound('No such connection.');
    refuseOtherKinds(before, body);
    const kind = kindOf(before.kind);
    if (kind && body.provider !== undefined)
      throw invalidField(
        'provider',
        "provider: a pull connection's provider is fixed",
        `fixed for kind "${before.kind}"`,
      );
    try {
      const secret = kind && (body[kind.secretField] as string | undefined);
      if (kind && (body[kind.settingsField] !== undefined || (secret !== undefined && kind.secretFacts))) {
        const settings = withSecretFacts(kind, merged(kind, before, body), secret);
        if (secret !== undefined) kind.checkSecret?.(settings, secret);
        await deps.connections.saveSettings(clientKey, before.id, { [kind.settingsField]: settings });
        // What the stored read position covers changed: read everything next time.
        if (kind.movesPosition(before.settings[kind.settingsField], settings)) await deps.sourceState.reset(before.id);
      }
      if (kind && secret !== undefined)
        await deps.connections.setSecret(clientKey, before.id, sourceOf(deps, kind).seal(before.id, secret));
      const c = await deps.connections.update(clientKey, before.id, body);
      if (!c) throw notFound('No such connection.');
      for (const source of deps.sources.all()) source.forget(c.id);
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
  withBody(testConnectionSchema, async (body, req, res) => {
    const { clientKey } = requireContext(req);
    const c = await deps.connections.get(clientKey, req.params.id);
    if (!c) throw notFound('No such connection.');
    const kind = kindOf(c.kind);
    if (!kind)
      throw notSupported(
        'A SCIM connection is tested from the identity provider (for Entra ID: Provisioning → Test Connection); its requests then appear in the sync history.',
      );
    res.json(await sourceOf(deps, kind).testConnection(c, candidateOf(kind, c, body)));
  });

/** The settings and secret an admin tries (the stored ones where the request gives none). */
function candidateOf(kind: SourceKind, c: Connection, body: Record<string, unknown>) {
  return { settings: merged(kind, c, body), secret: body[kind.secretField] as string | undefined };
}

/**
 * POST /api/v1/connections/{id}/test-user (Test Sync): one LDAP user as the directory returns it,
 * and what the connection's rules make of it — Jira email and display name, groups (nested
 * included) and the Jira groups they map to, custom attributes, in scope, active. Changes nothing.
 */
export const testUser = (deps: ConnectionDeps): RequestHandler =>
  withBody(testUserSchema, async (body, req, res) => {
    const { clientKey } = requireContext(req);
    const c = await deps.connections.get(clientKey, req.params.id);
    if (!c) throw notFound('No such connection.');
    const kind = kindOf(c.kind);
    const source = kind && sourceOf(deps, kind);
    if (!kind?.probesUsers || !source?.probeUser)
      throw notSupported(`Test Sync reads one user from a directory: only for ${probingKinds()} connections.`);
    const tried = body[kind.settingsField] !== undefined || body[kind.secretField] !== undefined;
    const probe = await source.probeUser(c, body.username, tried ? candidateOf(kind, c, body) : undefined);
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

/** The titles of the kinds that offer Test Sync ("LDAP", …). */
const probingKinds = () =>
  Object.values(SOURCE_KINDS)
    .filter((k) => k.probesUsers)
    .map((k) => k.title)
    .join(', ');

export const deleteConnection = (deps: ConnectionDeps): RequestHandler =>
  wrap(async (req, res) => {
    if (!(await deps.connections.delete(requireContext(req).clientKey, req.params.id)))
      throw notFound('No such connection.');
    for (const source of deps.sources.all()) source.forget(req.params.id);
    deps.onConnectionChanged(req.params.id);
    res.status(204).end();
  });

export const rotateToken = ({ connections, localBaseUrl, onConnectionChanged }: ConnectionDeps): RequestHandler =>
  wrap(async (req, res) => {
    const token = newToken();
    const c = await connections.setToken(requireContext(req).clientKey, req.params.id, token);
    if (!c) throw notFound('No such SCIM connection.');
    onConnectionChanged(c.id);
    res.json({ ...presentScim(c, localBaseUrl), token: token.token });
  });

/**
 * POST /api/v1/connections/{id}/resume: a connection paused after repeated failed runs starts
 * runs by itself again (its waiting SCIM changes first); 409 when it is not paused.
 */
export const resumeConnection = (deps: ConnectionDeps): RequestHandler =>
  wrap(async (req, res) => {
    const { clientKey } = requireContext(req);
    const c = await deps.connections.get(clientKey, req.params.id);
    if (!c) throw notFound('No such connection.');
    if (!(await deps.connections.resume(clientKey, c.id)))
      throw conflict('not_paused', 'The connection is not paused.');
    deps.onConnectionChanged(c.id);
    res.json(await present(deps, (await deps.connections.get(clientKey, c.id))!));
  });
