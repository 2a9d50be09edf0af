/* The pull store's larger statements, kept apart from the code that runs them (pull.ts). */

/**
 * Users upserted in one statement: $1 the connection, $2 the rows as JSON. Every part of the statement sees the table as it was before it: `before` has the old values.
 * A row whose values are the same is not written (only a missing digest is added to it).
 */
export const UPSERT_USERS = `
  WITH input AS (
    SELECT x.* FROM jsonb_to_recordset($2::jsonb) AS x(id uuid, user_name text, email text, display_name text, active boolean, external_id text, resource jsonb, digest text)
    WHERE NOT EXISTS (SELECT 1 FROM directory_users d WHERE d.connection_id = $1 AND lower(d.user_name) = lower(x.user_name) AND d.id <> x.id)
  ), before AS (
    SELECT d.id, (d.user_name, d.email, d.display_name, d.active, d.external_id, d.resource) IS DISTINCT FROM
      (i.user_name, i.email, i.display_name, i.active, i.external_id, i.resource) AS differs
    FROM directory_users d JOIN input i ON d.connection_id = $1 AND d.id = i.id
  ), written AS (
    INSERT INTO directory_users AS d (connection_id, id, user_name, email, display_name, active, external_id, resource, digest)
    SELECT $1, id, user_name, email, display_name, active, external_id, resource, digest FROM input
    ON CONFLICT (connection_id, id) DO UPDATE SET
      user_name = EXCLUDED.user_name, email = EXCLUDED.email, display_name = EXCLUDED.display_name, active = EXCLUDED.active,
      external_id = EXCLUDED.external_id, resource = EXCLUDED.resource, digest = EXCLUDED.digest,
      version = CASE WHEN (d.user_name, d.email, d.display_name, d.active, d.external_id, d.resource)
                           IS DISTINCT FROM (EXCLUDED.user_name, EXCLUDED.email, EXCLUDED.display_name, EXCLUDED.active, EXCLUDED.external_id, EXCLUDED.resource)
                     THEN d.version + 1 ELSE d.version END,
      updated_at = CASE WHEN (d.user_name, d.email, d.display_name, d.active, d.external_id, d.resource)
                              IS DISTINCT FROM (EXCLUDED.user_name, EXCLUDED.email, EXCLUDED.display_name, EXCLUDED.active, EXCLUDED.external_id, EXCLUDED.resource)
                        THEN now() ELSE d.updated_at END
    WHERE (d.user_name, d.email, d.display_name, d.active, d.external_id, d.resource, d.digest)
      IS DISTINCT FROM (EXCLUDED.user_name, EXCLUDED.email, EXCLUDED.display_name, EXCLUDED.active, EXCLUDED.external_id, EXCLUDED.resource, EXCLUDED.digest)
    RETURNING d.id
  )
  SELECT i.id::text AS id, w.id IS NOT NULL AS written, COALESCE(b.differs, true) AS changed
  FROM input i LEFT JOIN written w ON w.id = i.id LEFT JOIN before b ON b.id = i.id`;
