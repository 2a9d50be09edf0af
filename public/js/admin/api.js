/*
 * The admin API client, the one module that knows its host. Inside Jira's Connect iframe every call
 * carries a fresh context JWT (AP.context.getToken) to /api/v1; inside Forge's Custom UI it goes
 * through @forge/bridge's invokeRemote to /forge/api/v1 (Forge adds its invocation token and the
 * app's system token). Both answer { ok, status, data } alike, so the views never know which it was.
 */

export const base = document
  .querySelector('link[href$="/public/css/admin.css"]')
  .href.replace(/\/public\/css\/admin\.css$/, '');

/** Which host the page runs in: Connect (AP), Forge (the Custom UI bridge), or neither. */
export const host = window.AP && window.AP.context ? 'connect' : window.__bridge ? 'forge' : 'none';

// ---- API -------------------------------------------------------------------------------

export function token() {
  return new Promise(function (resolve, reject) {
    if (host !== 'connect') return reject(new Error('Open this page from Jira administration.'));
    AP.context.getToken(resolve);
  });
}

export function api(method, path, body) {
  if (host === 'forge') return forgeApi(method, path, body);
  return token()
    .then(function (jwt) {
      return fetch(base + '/api/v1' + path, {
        method: method,
        headers: Object.assign(
          { Authorization: 'JWT ' + jwt, Accept: 'application/json' },
          body !== undefined ? { 'Content-Type': 'application/json' } : {},
        ),
        body: body !== undefined ? JSON.stringify(body) : undefined,
      });
    })
    .then(function (res) {
      return res
        .json()
        .catch(function () {
          return {};
        })
        .then(function (data) {
          return { ok: res.ok, status: res.status, data: data };
        });
    });
}

var bridge;

/** The bundled @forge/bridge, loaded only under Forge (it needs Forge's bridge at load). */
function forgeBridge() {
  return (bridge = bridge || import('./vendor/forge-bridge.js'));
}

function forgeApi(method, path, body) {
  return forgeBridge()
    .then(function (m) {
      return m.invokeRemote({
        path: '/forge/api/v1' + path,
        method: method,
        headers: { Accept: 'application/json' },
        body: body,
      });
    })
    .then(
      function (res) {
        return { ok: res.status >= 200 && res.status < 300, status: res.status, data: res.body || {} };
      },
      function (err) {
        // Forge rejects when the remote could not be reached or refused its invocation token (401).
        return { ok: false, status: 0, data: { message: 'Forge could not reach the app: ' + err.message } };
      },
    );
}

export function must(r) {
  if (!r.ok)
    throw Object.assign(new Error(r.data.message || 'The request failed (HTTP ' + r.status + ').'), { response: r });
  return r.data;
}
