/* The admin page: a thin client of /api/v1, every call carrying a fresh context JWT from Jira. */
(function () {
  'use strict';
  var base = document.querySelector('link[href$="/public/css/admin.css"]').href.replace(/\/public\/css\/admin\.css$/, '');

  function token() {
    return new Promise(function (resolve, reject) {
      if (!window.AP || !AP.context) return reject(new Error('Open this page from Jira administration.'));
      AP.context.getToken(resolve);
    });
  }

  function api(method, path, body) {
    return token().then(function (jwt) {
      return fetch(base + '/api/v1' + path, {
        method: method,
        headers: Object.assign({ Authorization: 'JWT ' + jwt, Accept: 'application/json' }, body ? { 'Content-Type': 'application/json' } : {}),
        body: body ? JSON.stringify(body) : undefined,
      });
    }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (data) { return { ok: res.ok, status: res.status, data: data }; });
    });
  }

  function $(id) { return document.getElementById(id); }

  function showBanner(text) {
    var b = $('banner');
    b.textContent = text;
    b.hidden = !text;
  }

  function showCredentials(c) {
    $('email').value = c.email || '';
    $('orgId').value = c.orgId || '';
    $('apiToken').value = '';
    $('orgApiKey').value = '';
    $('apiToken-state').textContent = c.apiTokenSet ? 'Set (verified ' + new Date(c.verifiedAt).toLocaleString() + '). Leave empty to keep it.' : 'Not set';
    $('orgApiKey-state').textContent = c.orgApiKeySet ? 'Set. Leave empty to keep it.' : 'Not set';
    showBanner(c.apiTokenSet ? '' : 'No site-admin API token: the app can plan changes but cannot create users or change groups in Jira until one is saved.');
  }

  function clearErrors() {
    ['email', 'apiToken', 'orgId', 'orgApiKey'].forEach(function (f) { $(f + '-error').textContent = ''; $(f).removeAttribute('aria-invalid'); });
  }

  function load() {
    api('GET', '/site-credentials').then(function (r) {
      if (r.ok) showCredentials(r.data); else showBanner(r.data.message || 'Could not load the settings.');
    }, function (e) { showBanner(e.message); });
  }

  $('site-credentials').addEventListener('submit', function (ev) {
    ev.preventDefault();
    clearErrors();
    var body = { email: $('email').value.trim() };
    if ($('apiToken').value) body.apiToken = $('apiToken').value;
    if ($('orgId').value.trim()) body.orgId = $('orgId').value.trim();
    if ($('orgApiKey').value) body.orgApiKey = $('orgApiKey').value;
    $('save-status').textContent = 'Verifying with Jira…';
    $('save-credentials').setAttribute('aria-disabled', 'true');
    api('PUT', '/site-credentials', body).then(function (r) {
      $('save-credentials').removeAttribute('aria-disabled');
      if (r.ok) { $('save-status').textContent = 'Saved and verified.'; showCredentials(r.data); return; }
      $('save-status').textContent = '';
      var fields = r.data.fields || {};
      Object.keys(fields).forEach(function (f) {
        if ($(f + '-error')) { $(f + '-error').textContent = fields[f]; $(f).setAttribute('aria-invalid', 'true'); }
      });
      if (!Object.keys(fields).length) showBanner(r.data.message || 'Saving failed.');
    }, function (e) { $('save-credentials').removeAttribute('aria-disabled'); $('save-status').textContent = e.message; });
  });

  load();
})();
