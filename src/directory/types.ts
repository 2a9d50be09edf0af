/** A JSON document as stored in the directory (the IdP's resource, canonical attribute names). */
export type JsonObject = { [key: string]: unknown };

/** One user as a connection's IdP describes it. */
export interface DirectoryUser {
  connectionId: string;
  id: string;
  userName: string;
  externalId: string | null;
  displayName: string | null;
  email: string | null;
  active: boolean;
  resource: JsonObject;
  version: number;
  createdAt: Date;
  updatedAt: Date;
  /** The groups it belongs to, when the query asked for them. */
  groups?: MemberRef[];
}

/** One group as a connection's IdP describes it (members live in their own table). */
export interface DirectoryGroup {
  connectionId: string;
  id: string;
  displayName: string;
  externalId: string | null;
  resource: JsonObject;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

/** The indexed fields of a user, derived from its resource by the caller. */
export interface UserFields {
  userName: string;
  externalId: string | null;
  displayName: string | null;
  email: string | null;
  active: boolean;
  resource: JsonObject;
}

export interface GroupFields {
  displayName: string;
  externalId: string | null;
  resource: JsonObject;
}

/** A list query: a WHERE over alias `r` whose $1 is the connection ID, an ORDER BY, a page. */
export interface ListQuery {
  where: string;
  values: unknown[];
  orderBy: string;
  offset: number;
  limit: number;
}

export interface Page<T> {
  rows: T[];
  total: number;
}

/** A member reference for presentation. */
export interface MemberRef {
  id: string;
  display: string | null;
}

/** A write that would break a uniqueness rule (userName or displayName per connection). */
export class UniquenessConflict extends Error {
  constructor(
    readonly attribute: 'userName' | 'displayName',
    readonly value: string,
  ) {
    super(`${attribute} "${value}" is already taken in this connection`);
  }
}

/** A change the provisioning engine must reconcile (written with the change, same transaction). */
export type SyncChange = 'created' | 'updated' | 'deleted' | 'members';

/**
 * What directory changes a run covers — from the SCIM outbox, or from a source's delta read: the
 * users and groups concerned.
 */
export interface DirectoryChanges {
  userIds: string[];
  groupIds: string[];
  /** Every user is concerned (a group renamed or deleted, or a run asked for as a whole). */
  wide: boolean;
}
