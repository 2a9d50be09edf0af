/*
 * The pull sources the admin page knows, by connection kind: each one's form, how it reads back,
 * how it is named. The one list a new source joins; a kind not in it is pushed to (SCIM).
 */
import { entraSource } from './entra.js';
import { googleSource } from './google.js';
import { keycloakSource } from './keycloak.js';
import { ldapSource } from './ldap.js';
import { oktaSource } from './okta.js';

var SOURCES = {
  entra: entraSource,
  ldap: ldapSource,
  google: googleSource,
  okta: oktaSource,
  keycloak: keycloakSource,
};

/** The source of a connection kind, or null for a SCIM connection. */
export function sourceOf(kind) {
  return Object.prototype.hasOwnProperty.call(SOURCES, kind) ? SOURCES[kind] : null;
}
