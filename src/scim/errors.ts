import { ERROR_SCHEMA } from './schemas';

/** RFC 7644 §3.12 scimType values. */
export type ScimType =
  | 'invalidFilter'
  | 'tooMany'
  | 'uniqueness'
  | 'mutability'
  | 'invalidSyntax'
  | 'invalidPath'
  | 'noTarget'
  | 'invalidValue'
  | 'invalidVers'
  | 'sensitive';

/** An error answered in SCIM's own format: `{schemas, status (a string), scimType?, detail}`. */
export class ScimError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    readonly scimType?: ScimType,
  ) {
    super(detail);
  }

  toJSON() {
    return {
      schemas: [ERROR_SCHEMA],
      status: String(this.status),
      ...(this.scimType ? { scimType: this.scimType } : {}),
      detail: this.detail,
    };
  }
}

export const invalidFilter = (detail: string) => new ScimError(400, detail, 'invalidFilter');
export const invalidPath = (detail: string) => new ScimError(400, detail, 'invalidPath');
export const invalidValue = (detail: string) => new ScimError(400, detail, 'invalidValue');
export const invalidSyntax = (detail: string) => new ScimError(400, detail, 'invalidSyntax');
export const noTarget = (detail: string) => new ScimError(400, detail, 'noTarget');
export const mutability = (detail: string) => new ScimError(400, detail, 'mutability');
export const uniqueness = (detail: string) => new ScimError(409, detail, 'uniqueness');
export const tooMany = (detail: string) => new ScimError(400, detail, 'tooMany');
export const notFound = (what: string, id: string) => new ScimError(404, `${what} ${id} not found`);
export const unauthorized = (detail = 'A valid bearer token for this connection is required.') =>
  new ScimError(401, detail);
/** 412: the If-Match named a version the resource no longer has. */
export const preconditionFailed = (detail: string) => new ScimError(412, detail);
/** 404 for a path no SCIM endpoint answers. */
export const noEndpoint = (method: string, path: string) => new ScimError(404, `No SCIM endpoint ${method} ${path}`);
/** 413: a body over the limit. */
export const tooLarge = (detail: string) => new ScimError(413, detail);
/** 414: a URL over the limit. */
export const uriTooLong = (detail: string) => new ScimError(414, detail);
/** 415: a body that is not JSON, or in an encoding not read. */
export const unsupportedMedia = (detail: string) => new ScimError(415, detail);
/** 400 for a URL that cannot be read (a path parameter that does not percent-decode). */
export const malformedUrl = (detail: string) => new ScimError(400, detail);
/** 503: the database did not answer, or not in time; the IdP sends the request again. */
export const unavailable = (detail: string) => new ScimError(503, detail);
/** 500: what went wrong on our side, said without detail (it is logged). */
export const internal = () => new ScimError(500, 'Something went wrong on our side; it has been logged.');
