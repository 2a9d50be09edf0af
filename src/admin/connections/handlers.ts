import crypto from 'node:crypto';
import type { RequestHandler } from 'express';
import { asyncHandler as wrap } from '../../asyncHandler';
import { requireContext } from '../../connect/context';
import { generateToken, hashToken } from '../../crypto/tokens';
import { ConnectionNameTaken, type Connection, type ConnectionRepository } from '../../db/connections';
import { AppError, notFound } from '../errors';
import type { CreateConnection, UpdateConnection } from './schema';

export interface ConnectionDeps {
  connections: ConnectionRepository;
  localBaseUrl: string;
}

const PROVIDER_LABELS: Record<string, string> = { entra: 'Microsoft Entra ID', okta: 'Okta', miniorange: 'miniOrange', generic: 'Generic SCIM 2.0' };

/** Every field a connection shows on the admin API (the token never: only its last characters). */
export function presentConnection(c: Connection, localBaseUrl: string) {
  return {
    id: c.id,
    name: c.name,
    kind: c.kind,
    provider: c.provider,
    providerLabel: PROVIDER_LABELS[c.provider] ?? c.provider,
    target: c.target,
    importUsers: c.importUsers,
    importGroups: c.importGroups,
    ...(c.kind === 'scim' ? { scim: { baseUrl: scimBaseUrl(localBaseUrl, c.id), tokenHint: c.scimTokenHint && `…${c.scimTokenHint}`, tokenCreatedAt: c.scimTokenCreatedAt?.toISOString() ?? null } } : {}),
    createdAt: c.createdAt.toISOString(),
    updatedAt: c.updatedAt.toISOString(),
  };
}

/** The SCIM base URL a client is given for a connection. */
export const scimBaseUrl = (localBaseUrl: string, id: string) => `${localBaseUrl}/scim/v2/${id}`;

/** A fresh SCIM bearer token (256 bits), with what is stored of it. */
function newToken(): { token: string; hash: string; hint: string } {
  const token = `scim_${generateToken()}`;
  return { token, hash: hashToken(token), hint: token.slice(-4) };
}

const nameTaken = () => new AppError(409, 'conflict', 'A connection with this name already exists.', { fields: { name: 'Another connection already has this name.' } });

export const listConnections = ({ connections, localBaseUrl }: ConnectionDeps): RequestHandler =>
  wrap(async (req, res) => {
    const list = await connections.list(requireContext(req).clientKey);
    res.json({ connections: list.map((c) => presentConnection(c, localBaseUrl)) });
  });

export const getConnection = ({ connections, localBaseUrl }: ConnectionDeps): RequestHandler =>
  wrap(async (req, res) => {
    const c = await connections.get(requireContext(req).clientKey, req.params.id);
    if (!c) throw notFound('No such connection.');
    res.json(presentConnection(c, localBaseUrl));
  });

export const createConnection = ({ connections, localBaseUrl }: ConnectionDeps): RequestHandler =>
  wrap(async (req, res) => {
    const body = res.locals.body as CreateConnection;
    const token = newToken();
    try {
      const c = await connections.create(requireContext(req).clientKey, crypto.randomUUID(), body, token);
      res.status(201).location(`/api/v1/connections/${c.id}`).json({ ...presentConnection(c, localBaseUrl), scim: { ...presentConnection(c, localBaseUrl).scim, token: token.token } });
    } catch (err) {
      throw err instanceof ConnectionNameTaken ? nameTaken() : err;
    }
  });

export const updateConnection = ({ connections, localBaseUrl }: ConnectionDeps): RequestHandler =>
  wrap(async (req, res) => {
    try {
      const c = await connections.update(requireContext(req).clientKey, req.params.id, res.locals.body as UpdateConnection);
      if (!c) throw notFound('No such connection.');
      res.json(presentConnection(c, localBaseUrl));
    } catch (err) {
      throw err instanceof ConnectionNameTaken ? nameTaken() : err;
    }
  });

export const deleteConnection = ({ connections }: ConnectionDeps): RequestHandler =>
  wrap(async (req, res) => {
    if (!(await connections.delete(requireContext(req).clientKey, req.params.id))) throw notFound('No such connection.');
    res.status(204).end();
  });

export const rotateToken = ({ connections, localBaseUrl }: ConnectionDeps): RequestHandler =>
  wrap(async (req, res) => {
    const token = newToken();
    const c = await connections.setToken(requireContext(req).clientKey, req.params.id, token);
    if (!c) throw notFound('No such SCIM connection.');
    res.json({ ...presentConnection(c, localBaseUrl).scim, token: token.token });
  });
