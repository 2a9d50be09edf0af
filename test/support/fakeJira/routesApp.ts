import { ok, type Route } from './routes';

/** Jira's reserved app property that names the Connect clientKey to a Forge app with `app.connect.key`. */
const CONNECT_CLIENT_KEY = 'connect_client_key_019cdff3-8bfb-71fe-9628-875b700aebb8';

/**
 * What a Forge app asks of a site it cannot see in its invocation token (backend calls carry no
 * `context`): the site's own description, and the app's properties — of which one is Jira's
 * reserved, synthetic property that holds the Connect `clientKey` of the same app on the site.
 */
export const appRoutes: Route[] = [
  {
    // "This operation can be accessed anonymously. Permissions required: None."
    method: 'GET',
    pattern: /^\/rest\/api\/3\/serverInfo$/,
    access: 'anyone',
    handle: ({ base }) =>
      ok({
        baseUrl: base,
        displayUrl: base,
        version: '1001.0.0-SNAPSHOT',
        versionNumbers: [1001, 0, 0],
        deploymentType: 'Cloud',
        buildNumber: 100287,
        buildDate: '2026-11-30T00:00:00.000+0000',
        serverTime: new Date().toISOString().replace('Z', '+0000'),
        scmInfo: 'fake',
        serverTitle: 'Jira',
      }),
  },
  {
    // "Only a Connect app whose key matches addonKey can make this request. Additionally, Forge apps
    // can access Connect app properties (stored against the same app.connect.key)." Anyone else, or
    // another app's key: 404. The reserved key is read-only and exists only where the site had the
    // Connect version of the app.
    method: 'GET',
    pattern: /^\/rest\/atlassian-connect\/1\/addons\/([^/]+)\/properties\/([^/]+)$/,
    access: 'anyone',
    handle: ({ state, base, params, principal }) => {
      const [addonKey, propertyKey] = params.map(decodeURIComponent);
      const notFound = { status: 404, body: { statusCode: 404, message: 'Property with key not found.' } };
      if (principal.kind === 'none')
        return { status: 401, body: { statusCode: 401, message: 'Client must be authenticated.' } };
      if ((principal.kind !== 'jwt' && principal.kind !== 'forge') || principal.appKey !== addonKey) return notFound;
      if (propertyKey !== CONNECT_CLIENT_KEY || !state.connectClientKey) return notFound;
      return ok({
        self: `${base}/rest/atlassian-connect/1/addons/${addonKey}/properties/${propertyKey}`,
        key: propertyKey,
        value: state.connectClientKey,
      });
    },
  },
];
