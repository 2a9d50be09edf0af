import type { RequestHandler } from 'express';
import { z } from 'zod';
import type { ApiToken, ApiTokenRepository } from '../../db/apiTokens';
import { isUuid } from '../../db/ids';
import { asyncHandler } from '../../http/asyncHandler';
import { requireContext } from '../../http/context';
import { notFound } from '../../http/errors';
import { hasControlCharacters } from '../../text';
import { withBody } from '../validate';

export interface ApiTokenDeps {
  apiTokens: ApiTokenRepository;
}

const MAX_DAYS = 366;

const createSchema = z
  .object({
    name: z
      .string()
      .trim()
      .min(1, 'must not be empty')
      .max(100, 'at most 100 characters')
      .refine((v) => !hasControlCharacters(v), 'must not contain control characters'),
    access: z.enum(['read', 'write'], {
      errorMap: () => ({ message: 'must be "read" (read-only) or "write" (read-write)' }),
    }),
    /** Days until it expires (1–366); null for a token that does not expire. */
    expiresInDays: z.number().int().min(1).max(MAX_DAYS).nullable().default(90),
  })
  .strict();

/** A token as the API shows it: never the token, only its last characters. */
export const presentApiToken = (t: ApiToken) => ({
  id: t.id,
  name: t.name,
  access: t.access,
  tokenHint: `…${t.hint}`,
  createdBy: t.createdBy,
  createdAt: t.createdAt.toISOString(),
  expiresAt: t.expiresAt?.toISOString() ?? null,
  lastUsedAt: t.lastUsedAt?.toISOString() ?? null,
  revokedAt: t.revokedAt?.toISOString() ?? null,
  status: t.revokedAt ? 'revoked' : t.expiresAt && t.expiresAt <= new Date() ? 'expired' : 'active',
});

/** GET /api/v1/api-tokens: the site's tokens, newest first. */
export const listApiTokens = (deps: ApiTokenDeps): RequestHandler =>
  asyncHandler(async (req, res) => {
    res.json({ tokens: (await deps.apiTokens.list(requireContext(req).clientKey)).map(presentApiToken) });
  });

/** POST /api/v1/api-tokens: a new token, shown in this answer once (stored as a hash). */
export const createApiToken = (deps: ApiTokenDeps): RequestHandler =>
  withBody(createSchema, async (body, req, res) => {
    const { clientKey, userAccountId } = requireContext(req);
    const expiresAt = body.expiresInDays === null ? null : new Date(Date.now() + body.expiresInDays * 86_400_000);
    const { token, row } = await deps.apiTokens.create(clientKey, {
      name: body.name,
      access: body.access,
      expiresAt,
      createdBy: userAccountId ?? 'unknown',
    });
    res.status(201).json({ ...presentApiToken(row), token });
  });

/** DELETE /api/v1/api-tokens/{id}: revokes the token at once (it stays listed, as revoked). */
export const revokeApiToken = (deps: ApiTokenDeps): RequestHandler =>
  asyncHandler(async (req, res) => {
    const id = req.params.id;
    const revoked = isUuid(id) ? await deps.apiTokens.revoke(requireContext(req).clientKey, id) : undefined;
    if (!revoked) throw notFound('No such API token.');
    res.json(presentApiToken(revoked));
  });
