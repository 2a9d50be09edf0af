import { Router, type Request } from 'express';
import { ScimError } from './errors';
import { baseUrlOf, sendScim } from './http';
import { MAX_RESULTS } from './listParams';
import { ALL_SCHEMAS, GROUP_TYPE, LIST_RESPONSE, USER_TYPE, type ResourceTypeDef, type SchemaDef } from './schemas';

const listOf = (resources: unknown[]) => ({
  schemas: [LIST_RESPONSE],
  totalResults: resources.length,
  startIndex: 1,
  itemsPerPage: resources.length,
  Resources: resources,
});

/** ServiceProviderConfig, ResourceTypes and Schemas (RFC 7644 §4), each also by id. */
export function discoveryRouter(localBaseUrl: string): Router {
  const router = Router({ mergeParams: true });
  const base = (req: Request) => baseUrlOf(req, localBaseUrl);

  router.get('/ServiceProviderConfig', (req, res) => sendScim(res, 200, serviceProviderConfig(base(req))));
  router.get('/ResourceTypes', (req, res) =>
    sendScim(res, 200, listOf([USER_TYPE, GROUP_TYPE].map((t) => resourceType(t, base(req))))),
  );
  router.get('/ResourceTypes/:id', (req, res) => {
    const t = [USER_TYPE, GROUP_TYPE].find((x) => x.id.toLowerCase() === req.params.id.toLowerCase());
    if (!t) throw new ScimError(404, `Resource type ${req.params.id} not found`);
    sendScim(res, 200, resourceType(t, base(req)));
  });
  router.get('/Schemas', (req, res) => sendScim(res, 200, listOf(ALL_SCHEMAS.map((s) => schema(s, base(req))))));
  router.get('/Schemas/:id', (req, res) => {
    const s = ALL_SCHEMAS.find((x) => x.id.toLowerCase() === req.params.id.toLowerCase());
    if (!s) throw new ScimError(404, `Schema ${req.params.id} not found`);
    sendScim(res, 200, schema(s, base(req)));
  });
  return router;
}

/** What this service provider supports, truthfully. */
function serviceProviderConfig(base: string) {
  return {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'],
    documentationUri: 'https://github.com/idp-user-group-sync/docs/scim.md',
    patch: { supported: true },
    bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
    filter: { supported: true, maxResults: MAX_RESULTS },
    changePassword: { supported: false },
    sort: { supported: true },
    etag: { supported: true },
    authenticationSchemes: [
      {
        type: 'oauthbearertoken',
        name: 'OAuth Bearer Token',
        description: 'The bearer token the admin page issued for this connection',
        specUri: 'https://www.rfc-editor.org/info/rfc6750',
        primary: true,
      },
    ],
    meta: { resourceType: 'ServiceProviderConfig', location: `${base}/ServiceProviderConfig` },
  };
}

function resourceType(t: ResourceTypeDef, base: string) {
  return {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:ResourceType'],
    id: t.id,
    name: t.id,
    endpoint: t.endpoint,
    description: t.core.description,
    schema: t.core.id,
    schemaExtensions: t.extensions.map((e) => ({ schema: e.id, required: false })),
    meta: { resourceType: 'ResourceType', location: `${base}/ResourceTypes/${t.id}` },
  };
}

function schema(s: SchemaDef, base: string) {
  return {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:Schema'],
    id: s.id,
    name: s.name,
    description: s.description,
    attributes: s.attributes,
    meta: { resourceType: 'Schema', location: `${base}/Schemas/${s.id}` },
  };
}
