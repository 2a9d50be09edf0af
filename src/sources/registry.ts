import type { Config } from '../config';
import type { SecretBox } from '../crypto/secrets';
import type { Connection, ConnectionRepository } from '../db/connections';
import type { PullStore } from '../directory/pull';
import type { Logger } from '../logger';
import { entraKind } from './entra/kind';
import { EntraService } from './entra/service';
import { googleKind } from './google/kind';
import { GoogleService } from './google/service';
import { ldapKind } from './ldap/kind';
import { LdapService } from './ldap/service';
import { keycloakKind } from './keycloak/kind';
import { KeycloakService } from './keycloak/service';
import { oktaKind } from './okta/kind';
import { OktaService } from './okta/service';
import type { AddressGuard } from './outbound';
import type { PullSource, SourceKind } from './source';
import type { SourceStateRepository } from './state';

/** What every pull source is built from (app.ts gives it once). */
export interface SourceDeps {
  connections: ConnectionRepository;
  box: SecretBox;
  pull: PullStore;
  state: SourceStateRepository;
  logger: Logger;
  /** Which addresses a connection's URLs may reach. */
  guard: AddressGuard;
  config: Config;
}

/**
 * Every pull source, by connection kind: its description for the admin API (`SourceKind`) and how
 * it is built. The one line a new source adds; nothing else in the admin API, the triggers or the
 * engine names a kind.
 */
const REGISTRY = {
  entra: { kind: entraKind, build: (d: SourceDeps) => new EntraService({ ...d, options: d.config.entra }) },
  ldap: { kind: ldapKind, build: (d: SourceDeps) => new LdapService(d) },
  google: { kind: googleKind, build: (d: SourceDeps) => new GoogleService({ ...d, options: d.config.google }) },
  okta: { kind: oktaKind, build: (d: SourceDeps) => new OktaService({ ...d, options: d.config.okta }) },
  keycloak: { kind: keycloakKind, build: (d: SourceDeps) => new KeycloakService({ ...d, options: d.config.keycloak }) },
};

export type PullKind = keyof typeof REGISTRY;

/** The pull kinds, in the order the API names them. */
export const PULL_KINDS = Object.keys(REGISTRY) as PullKind[];

/** Each pull kind's description. */
export const SOURCE_KINDS = Object.fromEntries(PULL_KINDS.map((k) => [k, REGISTRY[k].kind])) as Record<
  PullKind,
  SourceKind
>;

/** The kind of connection an IdP pushes to (SCIM); every other kind the app reads. */
export const PUSH_KIND = 'scim';

/** A pull source's description, or undefined for a kind that is not one (SCIM, or unknown). */
export function kindOf(kind: string): SourceKind | undefined {
  return Object.hasOwn(REGISTRY, kind) ? SOURCE_KINDS[kind as PullKind] : undefined;
}

/** The pull sources by connection kind, at run time. */
export class PullSources {
  private readonly byKind: Record<PullKind, PullSource>;

  constructor(deps: SourceDeps) {
    const built: Partial<Record<PullKind, PullSource>> = {};
    for (const k of PULL_KINDS) built[k] = REGISTRY[k].build(deps);
    this.byKind = built as Record<PullKind, PullSource>;
  }

  /** The connection kinds that pull. */
  kinds(): PullKind[] {
    return PULL_KINDS;
  }

  /** The source of a pull kind. */
  forKind(kind: string): PullSource | undefined {
    return Object.hasOwn(this.byKind, kind) ? this.byKind[kind as PullKind] : undefined;
  }

  /** The source of a connection, or undefined for one the IdP pushes to (SCIM). */
  for(c: Connection): PullSource | undefined {
    return this.forKind(c.kind);
  }

  /** Every source (to forget a connection in each). */
  all(): PullSource[] {
    return Object.values(this.byKind);
  }

  /** Closes what the sources keep open (HTTP agents), as the app stops. */
  close(): void {
    for (const source of this.all()) source.close?.();
  }
}
