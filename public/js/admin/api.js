/* The admin API client: every call carries a fresh context JWT from Jira (AP.context.getToken). */

export const base = document
  .querySelector('link[href$="/public/css/admin.css"]')
  .href.replace(/\/public\/css\/admin\.css$/, '');

// ---- API -------------------------------------------------------------------------------

export function token() {
  return new Promise(function (resolve, reject) {
    if (!window.AP || !AP.context) return reject(new Error('Open this page from Jira administration.'));
    AP.context.getToken(resolve);
  });
}

export function api(method, path, body) {
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

export function must(r) {
  if (!r.ok)
    throw Object.assign(new Error(r.data.message || 'The request failed (HTTP ' + r.status + ').'), { response: r });
  return r.data;
}
