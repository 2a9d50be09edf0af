'use strict';
/**
 * Every instance caches SCIM token hashes; this trigger tells them all (LISTEN idp_sync_connections)
 * when a connection's token changes or the connection goes away, however it happens (rotation,
 * delete, or the cascade of an uninstall), so a revoked token stops working at once everywhere.
 * @typedef {import('sequelize').QueryInterface} QueryInterface
 */

/** @param {{context: QueryInterface}} params */
async function up({ context: qi }) {
  await qi.sequelize.query(`
    CREATE FUNCTION notify_connection_change() RETURNS trigger LANGUAGE plpgsql AS $fn$
    BEGIN
      PERFORM pg_notify('idp_sync_connections', OLD.id::text);
      RETURN NULL;
    END
    $fn$;
    CREATE TRIGGER connections_changed AFTER UPDATE OF scim_token_hash, kind OR DELETE ON connections
      FOR EACH ROW EXECUTE FUNCTION notify_connection_change();
  `);
}

/** @param {{context: QueryInterface}} params */
async function down({ context: qi }) {
  await qi.sequelize.query(
    'DROP TRIGGER connections_changed ON connections; DROP FUNCTION notify_connection_change();',
  );
}

module.exports = { up, down };
