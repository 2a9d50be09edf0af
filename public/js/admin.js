/*
 * The admin page: a thin client of /api/v1 inside Jira's admin iframe. Every call carries a fresh
 * context JWT from Jira (AP.context.getToken). Views are routed by the URL hash; every text from the
 * API goes into the page as text (never as HTML).
 */
(function () {
  'use strict';
  var base = document
    .querySelector('link[href$="/public/css/admin.css"]')
    .href.replace(/\/public\/css\/admin\.css$/, '');
  var app = document.getElementById('app');
  var timers = [];

  // ---- API -------------------------------------------------------------------------------

  function token() {
    return new Promise(function (resolve, reject) {
      if (!window.AP || !AP.context) return reject(new Error('Open this page from Jira administration.'));
      AP.context.getToken(resolve);
    });
  }

  function api(method, path, body) {
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

  function must(r) {
    if (!r.ok)
      throw Object.assign(new Error(r.data.message || 'The request failed (HTTP ' + r.status + ').'), { response: r });
    return r.data;
  }

  // ---- DOM helpers ----------------------------------------------------------------------------

  /** h('div', {class: 'x', onclick: fn}, child, 'text', [more]) */
  function h(tag, attrs) {
    var el = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      var v = attrs[k];
      if (v === undefined || v === null || v === false) return;
      if (k.slice(0, 2) === 'on') el.addEventListener(k.slice(2), v);
      else if (k === 'text') el.textContent = v;
      else if (k === 'value') el.value = v;
      else if (k === 'checked') el.checked = !!v;
      else el.setAttribute(k, v === true ? '' : v);
    });
    for (var i = 2; i < arguments.length; i++) append(el, arguments[i]);
    return el;
  }
  function append(el, c) {
    if (c === undefined || c === null || c === false) return;
    if (Array.isArray(c))
      return c.forEach(function (x) {
        append(el, x);
      });
    el.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
  var current = 0;
  /** Replaces the page's content (only the latest route's render may: a slow answer for a page the admin left is dropped). */
  function mountNow() {
    timers.forEach(clearInterval);
    timers = [];
    app.textContent = '';
    for (var i = 0; i < arguments.length; i++) append(app, arguments[i]);
    if (window.AP && AP.resize)
      try {
        AP.resize();
      } catch (_e) {
        /* outside Jira */
      }
  }
  function message(kind, title, text, extra) {
    return h(
      'div',
      { class: 'aui-message aui-message-' + kind, role: kind === 'error' ? 'alert' : 'status' },
      title ? h('p', { class: 'title' }, h('strong', { text: title })) : null,
      text ? h('p', { text: text }) : null,
      extra || null,
    );
  }
  function when(iso) {
    return iso ? new Date(iso).toLocaleString() : '—';
  }
  function lozenge(status) {
    var kind =
      {
        succeeded: 'success',
        partial: 'moved',
        failed: 'error',
        running: 'inprogress',
        done: 'success',
        parked: 'error',
        pending: 'default',
      }[status] || 'default';
    return h('span', { class: 'aui-lozenge aui-lozenge-' + kind, text: status });
  }
  function field(id, label, input, help, required) {
    return h(
      'div',
      { class: 'field-group' },
      h(
        'label',
        { for: id },
        label,
        required ? h('span', { class: 'aui-icon icon-required', text: ' required' }) : null,
      ),
      input,
      help ? h('div', { class: 'description', id: id + '-help', text: help }) : null,
      h('div', { class: 'error', id: id + '-error', 'aria-live': 'polite' }),
    );
  }
  function text(id, value, attrs) {
    return h(
      'input',
      Object.assign(
        {
          class: 'text long-field',
          type: 'text',
          id: id,
          name: id,
          value: value === undefined || value === null ? '' : value,
          'aria-describedby': id + '-help ' + id + '-error',
        },
        attrs || {},
      ),
    );
  }
  function checkbox(id, label, checked, help) {
    return h(
      'div',
      { class: 'idp-check' },
      h('input', { type: 'checkbox', id: id, name: id, checked: checked }),
      ' ',
      h('label', { for: id, text: label }),
      help ? h('div', { class: 'description', text: help }) : null,
      h('div', { class: 'error', id: id + '-error', 'aria-live': 'polite' }),
    );
  }
  function select(id, options, value) {
    return h(
      'select',
      { class: 'select long-field', id: id, name: id, 'aria-describedby': id + '-help ' + id + '-error' },
      options.map(function (o) {
        return h('option', { value: o[0], selected: String(o[0]) === String(value) ? 'selected' : null, text: o[1] });
      }),
    );
  }
  function button(label, attrs) {
    return h('button', Object.assign({ class: 'aui-button', type: 'button' }, attrs || {}), label);
  }
  function $(id) {
    return document.getElementById(id);
  }
  function lines(v) {
    return v
      .split(/[\n,]/)
      .map(function (s) {
        return s.trim();
      })
      .filter(Boolean);
  }

  /** Puts an API's field errors next to their fields ("users.products" → #users-products); returns whether any was placed. */
  function showFieldErrors(form, data) {
    form.querySelectorAll('.error').forEach(function (e) {
      e.textContent = '';
    });
    form.querySelectorAll('[aria-invalid]').forEach(function (e) {
      e.removeAttribute('aria-invalid');
    });
    var placed = false;
    Object.keys((data && data.fields) || {}).forEach(function (f) {
      var id = f.replace(/\.\d+(\.|$)/g, '$1').replace(/\./g, '-');
      var err = $(id + '-error') || $(f.split('.').slice(0, 2).join('-') + '-error') || $(f.split('.')[0] + '-error');
      if (!err) return;
      err.textContent = (err.textContent ? err.textContent + ' ' : '') + data.fields[f];
      var input = $(err.id.replace(/-error$/, ''));
      if (input) input.setAttribute('aria-invalid', 'true');
      placed = true;
    });
    return placed;
  }

  function copyButton(label, getText) {
    var status = h('span', { class: 'idp-copied', 'aria-live': 'polite' });
    return h(
      'span',
      {},
      button(label, {
        class: 'aui-button aui-button-subtle idp-copy',
        onclick: function () {
          var value = getText();
          var done = function () {
            status.textContent = 'Copied';
            setTimeout(function () {
              status.textContent = '';
            }, 2000);
          };
          if (navigator.clipboard && navigator.clipboard.writeText)
            navigator.clipboard.writeText(value).then(done, fallback);
          else fallback();
          function fallback() {
            var t = h('textarea', { class: 'idp-offscreen', 'aria-hidden': 'true' });
            t.value = value;
            document.body.appendChild(t);
            t.select();
            try {
              document.execCommand('copy');
              done();
            } catch (_e) {
              status.textContent = 'Select and copy it by hand';
            }
            t.remove();
          }
        },
      }),
      status,
    );
  }

  // ---- banners: what blocks work ---------------------------------------------------------------

  function refreshBanners() {
    return Promise.all([api('GET', '/site-credentials'), api('GET', '/connections')]).then(function (rs) {
      var box = $('banners');
      box.textContent = '';
      var creds = rs[0].ok ? rs[0].data : null;
      if (creds && !creds.apiTokenSet) {
        append(
          box,
          message(
            'warning',
            'No site-admin API token',
            'The app can plan changes but cannot create users or change groups in Jira until one is saved.',
            h('p', {}, h('a', { href: '#/credentials', text: 'Add site credentials' })),
          ),
        );
      }
      var conns = rs[1].ok ? rs[1].data.connections : [];
      return Promise.all(
        conns.map(function (c) {
          return api('GET', '/connections/' + c.id + '/runs').then(function (r) {
            return { c: c, runs: r.ok ? r.data.runs : [] };
          });
        }),
      ).then(function (all) {
        all.forEach(function (x) {
          var last = x.runs[0];
          if (!last) return;
          if (last.status === 'failed')
            append(
              box,
              message(
                'error',
                x.c.name + ': the last sync failed',
                last.error || '',
                h('p', {}, h('a', { href: '#/run/' + last.id, text: 'Open the run' })),
              ),
            );
          else if (last.status === 'partial')
            append(
              box,
              message(
                'warning',
                x.c.name + ': ' + (last.counts.failed || 'some') + ' operation(s) parked in the last sync',
                'They need attention: open the run to see why.',
                h('p', {}, h('a', { href: '#/run/' + last.id + '?status=parked', text: 'See the parked operations' })),
              ),
            );
        });
        return all;
      });
    });
  }

  // ---- views -----------------------------------------------------------------------------------

  var PROVIDERS = [
    {
      key: 'scim-entra',
      kind: 'scim',
      provider: 'entra',
      title: 'Microsoft Entra ID (SCIM)',
      text: 'Entra ID pushes users and groups with its provisioning service.',
    },
    {
      key: 'entra',
      kind: 'entra',
      provider: 'entra',
      title: 'Microsoft Entra ID (Graph)',
      text: 'This app reads Entra ID through Microsoft Graph: the whole directory, an enterprise application, or chosen groups.',
    },
    {
      key: 'scim-okta',
      kind: 'scim',
      provider: 'okta',
      title: 'Okta',
      text: 'Okta pushes users and groups with a SCIM 2.0 app.',
    },
    {
      key: 'scim-miniorange',
      kind: 'scim',
      provider: 'miniorange',
      title: 'miniOrange',
      text: 'miniOrange pushes users and groups to a SCIM Server (Destination) app.',
    },
    {
      key: 'scim-generic',
      kind: 'scim',
      provider: 'generic',
      title: 'Any SCIM 2.0 client',
      text: 'Any identity provider that speaks SCIM 2.0.',
    },
  ];

  var SETUP = {
    entra: [
      'In the Entra admin center: Enterprise applications → New application → Create your own application (non-gallery).',
      'Provisioning → Get started → Provisioning Mode: Automatic.',
      'Tenant URL: the SCIM base URL below. Secret Token: the bearer token below. Test Connection, then Save.',
      'Mappings: keep userPrincipalName → userName and mail → emails[type eq "work"].value; assign users and groups; turn Provisioning Status On.',
    ],
    okta: [
      'In Okta: Applications → Create App Integration → SWA, then in General → Provisioning choose SCIM (or use the "SCIM 2.0 Test App (Header Auth)").',
      'SCIM connector base URL: the SCIM base URL below. Unique identifier field: userName.',
      'Authentication Mode: HTTP Header; Authorization: Bearer + the token below.',
      'Enable Push New Users, Push Profile Updates, Push Groups and Deactivate Users; assign people and push groups.',
    ],
    miniorange: [
      'In miniOrange: Apps → Add Application → SCIM Server (Destination).',
      'Base URL: the SCIM base URL below. Bearer Token: the token below.',
      'Turn on create, update and deactivate, map the attributes, and assign users and groups.',
    ],
    generic: [
      'Give your identity provider the SCIM base URL and the bearer token below (Authorization: Bearer <token>).',
      'Users: /Users, groups: /Groups, discovery: /ServiceProviderConfig.',
    ],
  };

  function scimDetails(c, tokenValue) {
    var steps = SETUP[c.provider] || SETUP.generic;
    return h(
      'section',
      { class: 'idp-section', 'aria-labelledby': 'scim-title' },
      h('h2', { id: 'scim-title', text: 'SCIM details' }),
      tokenValue
        ? message('info', 'Copy the token now', 'This is the only time the token is shown. Rotate it to get a new one.')
        : null,
      h(
        'dl',
        { class: 'idp-kv' },
        h('dt', { text: 'SCIM base URL' }),
        h(
          'dd',
          {},
          h('code', { id: 'scim-base-url', text: c.scim.baseUrl }),
          ' ',
          copyButton('Copy URL', function () {
            return c.scim.baseUrl;
          }),
        ),
        h('dt', { text: 'Bearer token' }),
        h(
          'dd',
          {},
          tokenValue
            ? [
                h('code', { id: 'scim-token', class: 'idp-secret', text: tokenValue }),
                ' ',
                copyButton('Copy token', function () {
                  return tokenValue;
                }),
              ]
            : h('span', {
                text: 'Hidden (ends ' + (c.scim.tokenHint || '—') + ', created ' + when(c.scim.tokenCreatedAt) + ')',
              }),
        ),
      ),
      h('h3', { text: 'Set it up in ' + (c.providerLabel || 'your IdP') }),
      h(
        'ol',
        { class: 'idp-steps' },
        steps.map(function (s) {
          return h('li', { text: s });
        }),
      ),
    );
  }

  function viewConnections(mount) {
    mount(h('h2', { text: 'Configured IdPs' }), h('p', { class: 'idp-loading', text: 'Loading…' }));
    return refreshBanners().then(function (all) {
      if (!all.length) {
        return mount(
          h('h2', { text: 'Configured IdPs' }),
          message(
            'info',
            'No identity provider yet',
            'Add one to start keeping Jira in step with it.',
            h('p', {}, h('a', { class: 'aui-button aui-button-primary', href: '#/new', text: 'Add new app' })),
          ),
        );
      }
      var rows = all.map(function (x) {
        var c = x.c;
        var last = x.runs[0];
        var counts = last
          ? [
              last.counts.usersCreated + ' created',
              last.counts.usersDeprovisioned + ' deprovisioned',
              last.counts.membershipsAdded + ' added',
              last.counts.membershipsRemoved + ' removed',
              last.counts.failed + ' failed',
            ].join(', ')
          : '';
        return h(
          'tr',
          { 'data-connection': c.id },
          h('td', {}, h('a', { href: '#/c/' + c.id, text: c.name })),
          h('td', { text: c.kind === 'scim' ? 'SCIM push' : 'Graph pull' }),
          h('td', { text: c.providerLabel }),
          h('td', { text: c.target === 'users' ? 'Jira users' : 'JSM customers' }),
          h(
            'td',
            {},
            last
              ? [
                  lozenge(last.status),
                  ' ',
                  h('a', { href: '#/run/' + last.id, text: when(last.startedAt) }),
                  h('div', { class: 'idp-muted', text: counts }),
                ]
              : h('span', { class: 'idp-muted', text: 'never' }),
          ),
          h(
            'td',
            { class: 'idp-actions' },
            button('Synchronize', {
              onclick: function () {
                location.hash = '#/c/' + c.id + '/sync';
              },
              'aria-label': 'Synchronize ' + c.name,
            }),
            button('Dry run', {
              onclick: function () {
                location.hash = '#/c/' + c.id + '/dryrun';
              },
              'aria-label': 'Dry run ' + c.name,
            }),
            h('a', { class: 'aui-button', href: '#/c/' + c.id, 'aria-label': 'Edit ' + c.name, text: 'Edit' }),
            h('a', {
              class: 'aui-button',
              href: '#/c/' + c.id + '?delete=1',
              'aria-label': 'Delete ' + c.name,
              text: 'Delete',
            }),
          ),
        );
      });
      mount(
        h(
          'div',
          { class: 'idp-toolbar' },
          h('h2', { text: 'Configured IdPs' }),
          h('a', { class: 'aui-button aui-button-primary', href: '#/new', text: 'Add new app' }),
        ),
        h(
          'div',
          { class: 'idp-table-wrap' },
          h(
            'table',
            { class: 'aui', id: 'connections' },
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                ['Name', 'Kind', 'Provider', 'Target', 'Last run', 'Actions'].map(function (t) {
                  return h('th', { scope: 'col', text: t });
                }),
              ),
            ),
            h('tbody', {}, rows),
          ),
        ),
      );
    });
  }

  function viewNew(providerKey, mount) {
    var p = PROVIDERS.filter(function (x) {
      return x.key === providerKey;
    })[0];
    if (!p) {
      return mount(
        h('h2', { text: 'Add new app' }),
        h('p', { text: 'Choose the identity provider to connect.' }),
        h(
          'ul',
          { class: 'idp-cards' },
          PROVIDERS.map(function (x) {
            return h(
              'li',
              {},
              h(
                'a',
                { class: 'idp-card', href: '#/new/' + x.key },
                h('strong', { text: x.title }),
                h('span', { text: x.text }),
              ),
            );
          }),
        ),
      );
    }
    var form = h(
      'form',
      { class: 'aui', id: 'new-connection', novalidate: true },
      field(
        'name',
        'Name',
        text('name', p.title, { required: true, autocomplete: 'off' }),
        'How this connection is shown here and in the sync history.',
        true,
      ),
      p.kind === 'entra'
        ? entraFields(
            {
              cloud: 'global',
              scope: { kind: 'directory' },
              scheduleMinutes: 60,
              usernameAttribute: 'userPrincipalName',
            },
            true,
          )
        : null,
      h(
        'div',
        { class: 'buttons-container' },
        h(
          'div',
          { class: 'buttons' },
          h('button', { class: 'aui-button aui-button-primary', type: 'submit', id: 'create' }, 'Create'),
          h('a', { class: 'aui-button aui-button-link', href: '#/new', text: 'Cancel' }),
        ),
      ),
    );
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var body = { name: $('name').value.trim(), kind: p.kind };
      if (p.kind === 'scim') body.provider = p.provider;
      else {
        body.entra = readEntra();
        body.clientSecret = $('clientSecret').value;
      }
      api('POST', '/connections', body).then(function (r) {
        if (!r.ok) {
          if (!showFieldErrors(form, r.data)) mount(form, message('error', 'Not created', r.data.message));
          return;
        }
        if (p.kind === 'scim') {
          mount(
            h('h2', { text: r.data.name }),
            message('success', 'Connection created', 'Give these details to ' + r.data.providerLabel + '.'),
            scimDetails(r.data, r.data.scim.token),
            h('p', {}, h('a', { class: 'aui-button aui-button-primary', href: '#/c/' + r.data.id, text: 'Done' })),
          );
        } else location.hash = '#/c/' + r.data.id + '?created=1';
      });
    });
    mount(h('h2', { text: 'Add ' + p.title }), h('p', { class: 'description', text: p.text }), form);
    $('name').focus();
  }

  function entraFields(e, isNew) {
    var scope = e.scope || { kind: 'directory' };
    return [
      field(
        'tenantId',
        'Directory (tenant) ID',
        text('tenantId', e.tenantId, { required: true, autocomplete: 'off' }),
        "On the app registration's Overview page.",
        true,
      ),
      field(
        'clientId',
        'Application (client) ID',
        text('clientId', e.clientId, { required: true, autocomplete: 'off' }),
        null,
        true,
      ),
      field(
        'clientSecret',
        'Client secret',
        h('input', {
          class: 'text long-field',
          type: 'password',
          id: 'clientSecret',
          name: 'clientSecret',
          autocomplete: 'new-password',
          'aria-describedby': 'clientSecret-help clientSecret-error',
        }),
        isNew
          ? "The secret's Value (not its Secret ID), from Certificates & secrets."
          : e.clientSecretSet
            ? 'Set. Leave empty to keep it.'
            : 'Not set.',
        isNew,
      ),
      field(
        'cloud',
        'Cloud',
        select(
          'cloud',
          [
            ['global', 'Global (login.microsoftonline.com)'],
            ['usgov', 'US Government'],
            ['china', 'China (21Vianet)'],
            ['custom', 'Other (explicit URLs)'],
          ],
          e.cloud || 'global',
        ),
      ),
      field(
        'authorityHost',
        'Login host (other clouds)',
        text('authorityHost', e.authorityHost, { placeholder: 'https://login.microsoftonline.com' }),
      ),
      field(
        'graphUrl',
        'Graph URL (other clouds)',
        text('graphUrl', e.graphUrl, { placeholder: 'https://graph.microsoft.com' }),
      ),
      field(
        'scope-kind',
        'Sync scope',
        select(
          'scope-kind',
          [
            ['directory', 'The whole directory'],
            ['application', 'Users and groups assigned to an enterprise application'],
            ['groups', 'Members of chosen groups (nested included)'],
          ],
          scope.kind,
        ),
      ),
      field(
        'scope-appRef',
        'Identify the enterprise application by',
        select(
          'scope-appRef',
          [
            ['appId', 'Application ID'],
            ['servicePrincipalId', 'Object ID (of the enterprise application)'],
          ],
          scope.servicePrincipalId ? 'servicePrincipalId' : 'appId',
        ),
      ),
      field(
        'scope-appId',
        'Enterprise application ID',
        text('scope-appId', scope.appId || scope.servicePrincipalId || ''),
        'For the enterprise application scope: from Enterprise applications → the app → Overview.',
      ),
      field(
        'scope-groupIds',
        'Group object IDs',
        h(
          'textarea',
          {
            class: 'textarea long-field',
            id: 'scope-groupIds',
            name: 'scope-groupIds',
            rows: 3,
            'aria-describedby': 'scope-groupIds-help scope-groupIds-error',
          },
          (scope.groupIds || []).join('\n'),
        ),
        'For the chosen-groups scope: one per line.',
      ),
      field(
        'userFilter',
        'User filter (optional)',
        text('userFilter', e.userFilter, { placeholder: 'accountEnabled eq true' }),
        'An OData filter on users.',
      ),
      field(
        'usernameAttribute',
        'Username attribute',
        select(
          'usernameAttribute',
          [
            ['userPrincipalName', 'userPrincipalName'],
            ['mail', 'mail'],
            ['mailNickname', 'mailNickname'],
            ['onPremisesSamAccountName', 'onPremisesSamAccountName'],
            ['employeeId', 'employeeId'],
          ],
          e.usernameAttribute,
        ),
      ),
      field(
        'attributes',
        'Extra attributes to read',
        text('attributes', (e.attributes || []).join(', '), {
          placeholder: 'department, extension_<appId>_costCenter',
        }),
        'Graph user properties, comma-separated; map them to user properties under Attribute Mapping.',
      ),
      field(
        'scheduleMinutes',
        'Synchronize automatically',
        select(
          'scheduleMinutes',
          [
            [0, 'Never'],
            [15, 'Every 15 minutes'],
            [30, 'Every 30 minutes'],
            [60, 'Every hour'],
            [240, 'Every 4 hours'],
            [720, 'Every 12 hours'],
            [1440, 'Every day'],
          ],
          e.scheduleMinutes,
        ),
      ),
    ];
  }

  function readEntra() {
    var kind = $('scope-kind').value;
    var appRef = $('scope-appId').value.trim();
    var e = {
      tenantId: $('tenantId').value.trim(),
      clientId: $('clientId').value.trim(),
      cloud: $('cloud').value,
      usernameAttribute: $('usernameAttribute').value,
      attributes: lines($('attributes').value),
      scheduleMinutes: Number($('scheduleMinutes').value),
      scope:
        kind === 'directory'
          ? { kind: kind }
          : kind === 'groups'
            ? { kind: kind, groupIds: lines($('scope-groupIds').value) }
            : $('scope-appRef').value === 'servicePrincipalId'
              ? { kind: kind, servicePrincipalId: appRef || undefined }
              : { kind: kind, appId: appRef || undefined },
    };
    if ($('userFilter').value.trim()) e.userFilter = $('userFilter').value.trim();
    if (e.cloud === 'custom') {
      e.authorityHost = $('authorityHost').value.trim();
      e.graphUrl = $('graphUrl').value.trim();
    }
    return e;
  }

  function tabs(c, active) {
    var items = [
      ['', 'Overview'],
      ['users', 'User Sync Settings'],
      ['attributes', 'Attribute Mapping'],
      ['groups', 'Group Sync Settings'],
      ['history', 'Sync History'],
    ];
    return h(
      'div',
      {},
      h(
        'div',
        { class: 'idp-toolbar' },
        h('h2', { text: c.name }),
        h(
          'span',
          { class: 'idp-actions' },
          button('Synchronize', {
            class: 'aui-button aui-button-primary',
            id: 'synchronize',
            onclick: function () {
              location.hash = '#/c/' + c.id + '/sync';
            },
          }),
          button('Dry run', {
            id: 'dry-run',
            onclick: function () {
              location.hash = '#/c/' + c.id + '/dryrun';
            },
          }),
        ),
      ),
      h(
        'nav',
        { class: 'aui-tabs horizontal-tabs idp-tabs', 'aria-label': 'Connection settings' },
        h(
          'ul',
          { class: 'tabs-menu' },
          items.map(function (t) {
            return h(
              'li',
              { class: 'menu-item' + (t[0] === active ? ' active-tab' : '') },
              h('a', {
                href: '#/c/' + c.id + (t[0] ? '/' + t[0] : ''),
                'aria-current': t[0] === active ? 'page' : null,
                text: t[1],
              }),
            );
          }),
        ),
      ),
    );
  }

  function loadConnection(id) {
    return api('GET', '/connections/' + id).then(must);
  }

  function viewOverview(id, query, mount) {
    return loadConnection(id).then(function (c) {
      var form = h(
        'form',
        { class: 'aui', id: 'connection-settings', novalidate: true },
        field('name', 'Name', text('name', c.name, { required: true }), null, true),
        checkbox('importUsers', 'Import users: create Jira accounts for new IdP users', c.importUsers),
        checkbox('importGroups', 'Import groups: create missing Jira groups', c.importGroups),
        c.kind === 'entra' ? entraFields(c.entra, false) : null,
        h(
          'div',
          { class: 'buttons-container' },
          h(
            'div',
            { class: 'buttons' },
            h('button', { class: 'aui-button aui-button-primary', type: 'submit', id: 'save-connection' }, 'Save'),
            c.kind === 'entra' ? button('Test connection', { id: 'test-connection', onclick: testConnection }) : null,
            h('span', { class: 'idp-status', id: 'connection-status', 'aria-live': 'polite' }),
          ),
        ),
      );
      function testConnection() {
        $('connection-status').textContent = 'Testing…';
        var body = { entra: readEntra() };
        if ($('clientSecret').value) body.clientSecret = $('clientSecret').value;
        api('POST', '/connections/' + id + '/test', body).then(function (r) {
          $('connection-status').textContent = '';
          var out = $('test-result');
          out.textContent = '';
          if (!r.ok) {
            if (!showFieldErrors(form, r.data)) append(out, message('error', 'Test failed', r.data.message));
            return;
          }
          append(
            out,
            r.data.ok
              ? message(
                  'success',
                  'Connection works',
                  r.data.message + (r.data.sampleUser ? ' First user: ' + r.data.sampleUser + '.' : ''),
                )
              : message('error', 'Connection failed', r.data.message),
          );
        });
      }
      form.addEventListener('submit', function (ev) {
        ev.preventDefault();
        var body = {
          name: $('name').value.trim(),
          importUsers: $('importUsers').checked,
          importGroups: $('importGroups').checked,
        };
        if (c.kind === 'entra') {
          body.entra = readEntra();
          if ($('clientSecret').value) body.clientSecret = $('clientSecret').value;
        }
        $('connection-status').textContent = 'Saving…';
        api('PATCH', '/connections/' + id, body).then(function (r) {
          $('connection-status').textContent = r.ok ? 'Saved.' : '';
          if (!r.ok && !showFieldErrors(form, r.data)) $('connection-status').textContent = r.data.message;
          if (r.ok) showFieldErrors(form, {});
        });
      });
      var rotate =
        c.kind === 'scim'
          ? h(
              'p',
              {},
              button('Rotate token', {
                id: 'rotate-token',
                onclick: function () {
                  api('POST', '/connections/' + id + '/token')
                    .then(must)
                    .then(function (t) {
                      mount(
                        tabs(c, ''),
                        message(
                          'success',
                          'Token rotated',
                          'The old token stopped working. Update it in ' + c.providerLabel + '.',
                        ),
                        scimDetails(Object.assign({}, c, { scim: t }), t.token),
                      );
                    });
                },
              }),
            )
          : null;
      var confirmBox = h(
        'div',
        { id: 'delete-confirm', hidden: true },
        message(
          'warning',
          'Delete ' + c.name + '?',
          'Its directory, schedule, history and SCIM token go with it. Users and groups in Jira stay as they are.',
        ),
        button('Delete connection', {
          class: 'aui-button aui-button-primary idp-danger',
          id: 'confirm-delete',
          onclick: function () {
            api('DELETE', '/connections/' + id).then(function (r) {
              if (r.ok) location.hash = '#/';
            });
          },
        }),
        ' ',
        button('Cancel', {
          onclick: function () {
            confirmBox.hidden = true;
          },
        }),
      );
      if (query['delete']) confirmBox.hidden = false;
      mount(
        tabs(c, ''),
        query.created ? message('success', 'Connection created', 'Test it, then Synchronize.') : null,
        c.kind === 'scim' ? [scimDetails(c, null), rotate] : null,
        h(
          'section',
          { class: 'idp-section' },
          h('h3', { text: 'Settings' }),
          form,
          h('div', { id: 'test-result', 'aria-live': 'polite' }),
        ),
        h(
          'section',
          { class: 'idp-section' },
          h('h3', { text: 'Delete' }),
          button('Delete…', {
            id: 'delete',
            onclick: function () {
              confirmBox.hidden = false;
              $('confirm-delete').focus();
            },
          }),
          confirmBox,
        ),
      );
      if (query['delete']) {
        confirmBox.scrollIntoView();
        $('confirm-delete').focus();
      }
    });
  }

  /** Rules forms: each edits a part of the rules and PUTs them whole; errors come back by field. */
  function rulesView(id, part, mount) {
    return Promise.all([loadConnection(id), api('GET', '/connections/' + id + '/rules').then(must)]).then(function (x) {
      var c = x[0];
      var rules = x[1];
      var form = h('form', { class: 'aui', id: 'rules-' + part, novalidate: true });
      var extra = null;
      if (part === 'users') {
        var u = rules.users;
        append(form, [
          checkbox('users-update', 'Update users: write custom attributes to Jira user properties', u.update),
          field(
            'users-products',
            'Products granted to new users',
            text('users-products', u.products.join(', ')),
            'jira-software, jira-servicedesk, jira-product-discovery, jira-core; comma-separated.',
          ),
          field(
            'users-deprovision',
            'When a user is disabled, deleted, or leaves the scope',
            select(
              'users-deprovision',
              [
                ['none', 'Do nothing'],
                ['removeManagedGroups', 'Remove from the groups this connection manages'],
                ['removeProductGroups', 'Remove from product-access groups'],
                ['deleteFromSite', 'Delete from the site'],
                ['deactivate', 'Deactivate the account (organization API key)'],
              ],
              u.deprovision,
            ),
          ),
          field(
            'users-productGroups',
            'Product-access groups',
            text('users-productGroups', u.productGroups.join(', ')),
            'For "Remove from product-access groups".',
          ),
          checkbox('users-reactivate', 'Reactivate users who come back', u.reactivate),
          field(
            'users-defaultProjectLead',
            'Default project lead (account ID)',
            text('users-defaultProjectLead', u.defaultProjectLead || ''),
            'Takes over projects a deprovisioned user leads.',
          ),
          field(
            'users-defaultComponentLead',
            'Default component lead (account ID)',
            text('users-defaultComponentLead', u.defaultComponentLead || ''),
          ),
        ]);
      } else if (part === 'attributes') {
        var a = rules.attributes;
        append(form, [
          field(
            'attributes-userName',
            'Username from',
            text('attributes-userName', a.userName),
            'An IdP attribute path, e.g. userName or userPrincipalName.',
          ),
          field('attributes-email', 'Email from', text('attributes-email', a.email), 'e.g. emails[primary] or mail.'),
          field('attributes-displayName', 'Display name from', text('attributes-displayName', a.displayName)),
          h(
            'fieldset',
            { class: 'group' },
            h('legend', {}, h('span', { text: 'Custom attributes → Jira user properties' })),
            h(
              'table',
              { class: 'aui idp-pairs', id: 'custom-attributes' },
              h(
                'thead',
                {},
                h(
                  'tr',
                  {},
                  h('th', { scope: 'col', text: 'IdP attribute' }),
                  h('th', { scope: 'col', text: 'User property key' }),
                  h('th', {}),
                ),
              ),
              h(
                'tbody',
                {},
                a.custom.map(function (m, i) {
                  return pairRow('custom', i, m.from, m.propertyKey, 'IdP attribute', 'User property key');
                }),
              ),
            ),
            button('Add attribute', {
              id: 'add-custom',
              onclick: function () {
                var tb = form.querySelector('#custom-attributes tbody');
                tb.appendChild(pairRow('custom', tb.children.length, '', '', 'IdP attribute', 'User property key'));
              },
            }),
            h('div', { class: 'error', id: 'attributes-custom-error', 'aria-live': 'polite' }),
          ),
        ]);
      } else {
        var g = rules.groups;
        append(form, [
          field(
            'groups-defaultForNewUsers',
            'Default groups for new users',
            text('groups-defaultForNewUsers', g.defaultForNewUsers.join(', ')),
            'Comma-separated Jira groups.',
          ),
          field(
            'groups-defaultForAllUsers',
            'Default groups for all users',
            text('groups-defaultForAllUsers', g.defaultForAllUsers.join(', ')),
          ),
          h(
            'fieldset',
            { class: 'group' },
            h('legend', {}, h('span', { text: 'Manual mapping: IdP group → Jira groups' })),
            h(
              'table',
              { class: 'aui idp-pairs', id: 'manual-mapping' },
              h(
                'thead',
                {},
                h(
                  'tr',
                  {},
                  h('th', { scope: 'col', text: 'IdP group' }),
                  h('th', { scope: 'col', text: 'Jira groups (comma-separated)' }),
                  h('th', {}),
                ),
              ),
              h(
                'tbody',
                {},
                g.manual.map(function (m, i) {
                  return pairRow('manual', i, m.idpGroup, m.jiraGroups.join(', '), 'IdP group', 'Jira groups');
                }),
              ),
            ),
            button('Add mapping', {
              id: 'add-mapping',
              onclick: function () {
                var tb = form.querySelector('#manual-mapping tbody');
                tb.appendChild(pairRow('manual', tb.children.length, '', '', 'IdP group', 'Jira groups'));
                schedulePreview();
              },
            }),
            h('div', { class: 'error', id: 'groups-manual-error', 'aria-live': 'polite' }),
          ),
          checkbox(
            'groups-onTheFly-enabled',
            'On-the-fly mapping: an IdP group becomes the Jira group of the same name (optionally rewritten)',
            g.onTheFly.enabled,
          ),
          field(
            'groups-onTheFly-pattern',
            'Rewrite: regular expression',
            text('groups-onTheFly-pattern', g.onTheFly.pattern || '', { placeholder: '^AAD-(.*)$' }),
            'Optional; groups that do not match are not mapped on the fly.',
          ),
          field(
            'groups-onTheFly-replacement',
            'Rewrite: replacement',
            text('groups-onTheFly-replacement', g.onTheFly.replacement, { placeholder: '$1' }),
            'Capture groups as $1, $2…',
          ),
          field(
            'groups-include',
            'Include only IdP groups matching',
            text('groups-include', g.include.join(', ')),
            'Regular expressions, comma-separated; empty: all.',
          ),
          field('groups-exclude', 'Exclude IdP groups matching', text('groups-exclude', g.exclude.join(', '))),
          checkbox(
            'groups-keepExisting',
            'Keep existing memberships: never remove a user from a Jira group this connection did not add',
            g.keepExisting,
          ),
        ]);
        extra = h(
          'section',
          { class: 'idp-section', 'aria-labelledby': 'preview-title' },
          h('h3', { id: 'preview-title', text: 'Preview' }),
          h(
            'form',
            {
              class: 'aui',
              onsubmit: function (ev) {
                ev.preventDefault();
              },
            },
            field(
              'preview-samples',
              'Sample IdP group names',
              h(
                'textarea',
                {
                  class: 'textarea long-field',
                  id: 'preview-samples',
                  rows: 4,
                  'aria-describedby': 'preview-samples-help',
                },
                'AAD-Engineering\nAAD-Sales\nContractors',
              ),
              'One per line; the table shows what each becomes with the settings above, before you save.',
            ),
          ),
          h(
            'table',
            { class: 'aui', id: 'preview' },
            h(
              'thead',
              {},
              h('tr', {}, h('th', { scope: 'col', text: 'IdP group' }), h('th', { scope: 'col', text: 'Jira groups' })),
            ),
            h('tbody', {}),
          ),
          h('div', { id: 'preview-error', class: 'error', 'aria-live': 'polite' }),
        );
      }
      append(
        form,
        h(
          'div',
          { class: 'buttons-container' },
          h(
            'div',
            { class: 'buttons' },
            h('button', { class: 'aui-button aui-button-primary', type: 'submit', id: 'save-rules' }, 'Save'),
            h('span', { class: 'idp-status', id: 'rules-status', 'aria-live': 'polite' }),
          ),
        ),
      );

      function collect() {
        var r = JSON.parse(JSON.stringify(rules));
        if (part === 'users') {
          r.users = {
            update: $('users-update').checked,
            products: lines($('users-products').value),
            deprovision: $('users-deprovision').value,
            productGroups: lines($('users-productGroups').value),
            reactivate: $('users-reactivate').checked,
            defaultProjectLead: $('users-defaultProjectLead').value.trim() || null,
            defaultComponentLead: $('users-defaultComponentLead').value.trim() || null,
          };
        } else if (part === 'attributes') {
          r.attributes = {
            userName: $('attributes-userName').value.trim(),
            email: $('attributes-email').value.trim(),
            displayName: $('attributes-displayName').value.trim(),
            custom: pairs('custom').map(function (p) {
              return { from: p[0], propertyKey: p[1] };
            }),
          };
        } else {
          r.groups = {
            defaultForNewUsers: lines($('groups-defaultForNewUsers').value),
            defaultForAllUsers: lines($('groups-defaultForAllUsers').value),
            manual: pairs('manual').map(function (p) {
              return { idpGroup: p[0], jiraGroups: lines(p[1]) };
            }),
            onTheFly: {
              enabled: $('groups-onTheFly-enabled').checked,
              pattern: $('groups-onTheFly-pattern').value.trim() || null,
              replacement: $('groups-onTheFly-replacement').value || '$1',
            },
            include: lines($('groups-include').value),
            exclude: lines($('groups-exclude').value),
            keepExisting: $('groups-keepExisting').checked,
          };
        }
        return r;
      }
      function pairs(kind) {
        return Array.prototype.map
          .call(form.querySelectorAll('tr[data-pair="' + kind + '"]'), function (tr) {
            return [
              tr.querySelector('input[data-side="a"]').value.trim(),
              tr.querySelector('input[data-side="b"]').value.trim(),
            ];
          })
          .filter(function (p) {
            return p[0] || p[1];
          });
      }
      var previewTimer;
      function schedulePreview() {
        clearTimeout(previewTimer);
        previewTimer = setTimeout(preview, 250);
      }
      function preview() {
        if (part !== 'groups' || !form.isConnected) return; // the admin moved on to another page
        api('POST', '/connections/' + id + '/rules/preview', {
          samples: lines($('preview-samples').value.replace(/,/g, ' ')).slice(0, 100),
          rules: collect(),
        }).then(function (r) {
          if (!form.isConnected) return;
          var tb = $('preview').querySelector('tbody');
          tb.textContent = '';
          $('preview-error').textContent = '';
          if (!r.ok) {
            showFieldErrors(form, r.data);
            $('preview-error').textContent = 'Fix the settings above to see the preview.';
            return;
          }
          showFieldErrors(form, {});
          r.data.mappings.forEach(function (m) {
            tb.appendChild(
              h(
                'tr',
                {},
                h('td', { text: m.idpGroup }),
                h(
                  'td',
                  {},
                  m.jiraGroups.length ? m.jiraGroups.join(', ') : h('span', { class: 'idp-muted', text: 'not mapped' }),
                ),
              ),
            );
          });
        });
      }
      form.addEventListener('input', schedulePreview);
      form.addEventListener('change', schedulePreview);
      form.addEventListener('submit', function (ev) {
        ev.preventDefault();
        $('rules-status').textContent = 'Saving…';
        api('PUT', '/connections/' + id + '/rules', collect()).then(function (r) {
          $('rules-status').textContent = r.ok ? 'Saved.' : 'Not saved: see the fields marked.';
          if (r.ok) {
            rules = r.data;
            showFieldErrors(form, {});
          } else if (!showFieldErrors(form, r.data)) $('rules-status').textContent = r.data.message;
        });
      });
      mount(tabs(c, part), form, extra);
      if (extra) {
        $('preview-samples').addEventListener('input', schedulePreview);
        preview();
      }
    });
  }

  function pairRow(kind, i, a, b, labelA, labelB) {
    var tr = h(
      'tr',
      { 'data-pair': kind },
      h(
        'td',
        {},
        h('input', { class: 'text', type: 'text', 'data-side': 'a', value: a, 'aria-label': labelA + ' ' + (i + 1) }),
      ),
      h(
        'td',
        {},
        h('input', {
          class: 'text long-field',
          type: 'text',
          'data-side': 'b',
          value: b,
          'aria-label': labelB + ' ' + (i + 1),
        }),
      ),
      h(
        'td',
        {},
        button('Remove', {
          class: 'aui-button aui-button-subtle',
          'aria-label': 'Remove row ' + (i + 1),
          onclick: function () {
            var f = tr.closest('form');
            tr.remove();
            f.dispatchEvent(new Event('input'));
          },
        }),
      ),
    );
    return tr;
  }

  function progressPanel(run) {
    var read = run.progress.read;
    var total = run.progress.total;
    var done = run.progress.done;
    var reading = run.stage === 'reading';
    var label = reading
      ? 'Reading the IdP: ' +
        (read && read.phase ? read.phase : 'starting') +
        (read ? ' (' + read.usersSeen + ' users, ' + read.groupsSeen + ' groups, ' + read.pages + ' pages)' : '')
      : run.status === 'running'
        ? 'Applying: ' + done + ' of ' + total + ' operations'
        : 'Finished: ' + done + ' of ' + total + ' operations';
    var pct = reading ? 0 : total ? Math.round((done / total) * 100) : 100;
    return h(
      'div',
      { class: 'idp-progress', id: 'progress' },
      h(
        'div',
        { class: 'idp-progress-label' },
        lozenge(run.status),
        ' ',
        h('span', { id: 'progress-text', text: label }),
      ),
      h(
        'div',
        {
          class: 'idp-bar',
          role: 'progressbar',
          'aria-valuemin': 0,
          'aria-valuemax': 100,
          'aria-valuenow': pct,
          'aria-label': 'Sync progress',
          'aria-busy': run.status === 'running' ? 'true' : 'false',
          'data-status': run.status,
        },
        h('div', {
          class: 'idp-bar-fill' + (reading ? ' idp-bar-indeterminate' : ''),
          style: 'width:' + (reading ? 100 : pct) + '%',
        }),
      ),
      run.error ? message('error', 'The sync failed', run.error) : null,
      run.status !== 'running'
        ? h(
            'p',
            {},
            'Created ' +
              run.counts.usersCreated +
              ' users, linked ' +
              run.counts.usersLinked +
              ', deprovisioned ' +
              run.counts.usersDeprovisioned +
              ', ' +
              run.counts.groupsCreated +
              ' groups created, ' +
              run.counts.membershipsAdded +
              ' memberships added, ' +
              run.counts.membershipsRemoved +
              ' removed, ' +
              run.counts.failed +
              ' failed. ',
            h('a', { href: '#/run/' + run.id, text: 'Open the run' }),
          )
        : null,
    );
  }

  function viewSync(id, mount) {
    return loadConnection(id).then(function (c) {
      mount(tabs(c, 'history'), h('h3', { text: 'Synchronize' }), h('p', { text: 'Starting…', id: 'sync-status' }));
      var body = c.kind === 'entra' ? { mode: 'incremental' } : {};
      return api('POST', '/connections/' + id + '/sync', body).then(function (r) {
        var runId = r.ok ? r.data.id : r.data.runId;
        if (!runId) return mount(tabs(c, 'history'), message('error', 'The sync did not start', r.data.message));
        var panel = h('div', { id: 'sync-panel' });
        mount(
          tabs(c, 'history'),
          h('h3', { text: 'Synchronize' }),
          r.ok ? null : message('info', 'A sync is already running', 'Showing its progress.'),
          panel,
        );
        var poll = function () {
          api('GET', '/runs/' + runId + '?limit=0')
            .then(must)
            .then(function (run) {
              panel.textContent = '';
              append(panel, progressPanel(run));
              if (run.status !== 'running') {
                timers.forEach(clearInterval);
                timers = [];
                refreshBanners();
              }
            });
        };
        poll();
        timers.push(setInterval(poll, 1000));
      });
    });
  }

  function viewDryRun(id, mount) {
    return loadConnection(id).then(function (c) {
      mount(
        tabs(c, 'history'),
        h('h3', { text: 'Dry run' }),
        h('p', { text: c.kind === 'entra' ? 'Reading Entra ID and planning…' : 'Planning…' }),
      );
      return api('POST', '/connections/' + id + '/sync', { dryRun: true }).then(function (r) {
        if (!r.ok)
          return mount(
            tabs(c, 'history'),
            h('h3', { text: 'Dry run' }),
            message('error', 'The dry run failed', r.data.message),
          );
        var ops = r.data.operations;
        var shown = ops.slice(0, 500);
        mount(
          tabs(c, 'history'),
          h('h3', { text: 'Dry run' }),
          message(
            'info',
            ops.length ? ops.length + ' change(s) would be made' : 'Jira is in step: nothing to do',
            'Nothing has been changed. Synchronize to apply the plan.',
          ),
          r.data.warnings.length
            ? message(
                'warning',
                'Warnings',
                null,
                h(
                  'ul',
                  {},
                  r.data.warnings.map(function (w) {
                    return h('li', { text: w });
                  }),
                ),
              )
            : null,
          ops.length
            ? h(
                'div',
                { class: 'idp-table-wrap' },
                h(
                  'table',
                  { class: 'aui', id: 'plan' },
                  h(
                    'thead',
                    {},
                    h(
                      'tr',
                      {},
                      ['Operation', 'User / group', 'Reason'].map(function (t) {
                        return h('th', { scope: 'col', text: t });
                      }),
                    ),
                  ),
                  h(
                    'tbody',
                    {},
                    shown.map(function (o) {
                      return h(
                        'tr',
                        {},
                        h('td', { text: o.kind }),
                        h('td', { text: subjectOf(o) }),
                        h('td', { text: o.reason }),
                      );
                    }),
                  ),
                ),
              )
            : null,
          ops.length > shown.length
            ? h('p', { class: 'idp-muted', text: 'Showing the first ' + shown.length + ' of ' + ops.length + '.' })
            : null,
          ops.length
            ? h(
                'p',
                {},
                button('Synchronize now', {
                  class: 'aui-button aui-button-primary',
                  onclick: function () {
                    location.hash = '#/c/' + id + '/sync';
                  },
                }),
              )
            : null,
        );
      });
    });
  }

  function subjectOf(o) {
    var d = o.details || {};
    return (
      d.email ||
      d.name ||
      (d.groupName && (d.userId ? d.groupName + ' ← ' + (d.accountId || d.userId) : d.groupName)) ||
      d.accountId ||
      o.subject
    );
  }

  function changesOf(run) {
    var k = run.counts || {};
    return (
      (k.usersCreated || 0) +
      (k.usersLinked || 0) +
      (k.usersUpdated || 0) +
      (k.usersDeprovisioned || 0) +
      (k.usersReactivated || 0) +
      (k.groupsCreated || 0) +
      (k.membershipsAdded || 0) +
      (k.membershipsRemoved || 0)
    );
  }

  function chart(runs) {
    var data = runs.slice(0, 30).reverse();
    var max = Math.max.apply(null, data.map(changesOf).concat([1]));
    var w = 600;
    var hgt = 120;
    var bw = Math.min(40, Math.max(4, Math.floor(w / Math.max(data.length, 1)) - 4));
    var ns = 'http://www.w3.org/2000/svg';
    var svg = document.createElementNS(ns, 'svg');
    svg.setAttribute('viewBox', '0 0 ' + w + ' ' + (hgt + 16));
    svg.setAttribute('class', 'idp-chart');
    svg.setAttribute('role', 'img');
    svg.setAttribute('aria-label', 'Changes per run, oldest to newest: ' + data.map(changesOf).join(', '));
    data.forEach(function (r, i) {
      var v = changesOf(r);
      var bh = Math.round((v / max) * hgt);
      var rect = document.createElementNS(ns, 'rect');
      rect.setAttribute('x', String(i * (bw + 4)));
      rect.setAttribute('y', String(hgt - bh));
      rect.setAttribute('width', String(bw));
      rect.setAttribute('height', String(Math.max(bh, 1)));
      rect.setAttribute('class', 'idp-chart-bar idp-chart-' + r.status);
      var title = document.createElementNS(ns, 'title');
      title.textContent = when(r.startedAt) + ': ' + v + ' changes (' + r.status + ')';
      rect.appendChild(title);
      svg.appendChild(rect);
    });
    return svg;
  }

  function viewHistory(id, mount) {
    return Promise.all([loadConnection(id), api('GET', '/connections/' + id + '/runs').then(must)]).then(function (x) {
      var c = x[0];
      var runs = x[1].runs;
      mount(
        tabs(c, 'history'),
        h('h3', { text: 'Sync history' }),
        runs.length
          ? h(
              'figure',
              { class: 'idp-figure' },
              chart(runs),
              h('figcaption', { text: 'Changes per run (last 30), oldest first' }),
            )
          : message('info', 'No runs yet', 'Synchronize to make the first one.'),
        runs.length
          ? h(
              'div',
              { class: 'idp-table-wrap' },
              h(
                'table',
                { class: 'aui', id: 'runs' },
                h(
                  'thead',
                  {},
                  h(
                    'tr',
                    {},
                    ['Started', 'Trigger', 'Status', 'Progress', 'Users', 'Groups', 'Memberships', 'Failed'].map(
                      function (t) {
                        return h('th', { scope: 'col', text: t });
                      },
                    ),
                  ),
                ),
                h(
                  'tbody',
                  {},
                  runs.map(function (r) {
                    var k = r.counts || {};
                    return h(
                      'tr',
                      {},
                      h('td', {}, h('a', { href: '#/run/' + r.id, text: when(r.startedAt) })),
                      h('td', { text: r.trigger }),
                      h('td', {}, lozenge(r.status)),
                      h('td', { text: r.progress.done + ' / ' + r.progress.total }),
                      h('td', {
                        text:
                          (k.usersCreated || 0) +
                          ' created, ' +
                          (k.usersLinked || 0) +
                          ' linked, ' +
                          (k.usersUpdated || 0) +
                          ' updated, ' +
                          (k.usersDeprovisioned || 0) +
                          ' deprovisioned' +
                          (k.usersReactivated ? ', ' + k.usersReactivated + ' reactivated' : ''),
                      }),
                      h('td', { text: (k.groupsCreated || 0) + ' created' }),
                      h('td', { text: '+' + (k.membershipsAdded || 0) + ' / −' + (k.membershipsRemoved || 0) }),
                      h('td', { text: String(k.failed || 0) }),
                    );
                  }),
                ),
              ),
            )
          : null,
      );
    });
  }

  function viewRun(id, query, mount) {
    var status = query.status || '';
    return api('GET', '/runs/' + id + '?limit=200' + (status ? '&status=' + status : ''))
      .then(must)
      .then(function (run) {
        var tbody = h('tbody', {});
        var more = h('p', {});
        function addRows(ops) {
          ops.forEach(function (o) {
            tbody.appendChild(
              h(
                'tr',
                { 'data-status': o.status },
                h('td', { text: o.kind }),
                h('td', { text: subjectOf(o) }),
                h('td', {}, lozenge(o.status), o.outcome ? ' ' + o.outcome : ''),
                h('td', { text: o.error || '' }),
                h('td', { text: o.reason }),
                h('td', { text: String(o.attempts) }),
              ),
            );
          });
        }
        function pager(next) {
          more.textContent = '';
          if (next)
            append(
              more,
              button('Load more', {
                id: 'load-more',
                onclick: function () {
                  api('GET', '/runs/' + id + '?limit=200&after=' + next + (status ? '&status=' + status : ''))
                    .then(must)
                    .then(function (p) {
                      addRows(p.operations);
                      pager(p.nextOperations);
                    });
                },
              }),
            );
        }
        addRows(run.operations);
        pager(run.nextOperations);
        var filter = select(
          'outcome-filter',
          [
            ['', 'All operations'],
            ['done', 'Done'],
            ['parked', 'Parked (failed)'],
            ['pending', 'Pending'],
            ['running', 'Running'],
          ],
          status,
        );
        filter.addEventListener('change', function () {
          location.hash = '#/run/' + id + (filter.value ? '?status=' + filter.value : '');
        });
        mount(
          h('p', {}, h('a', { href: '#/c/' + run.connectionId + '/history', text: '← Sync history' })),
          h('h2', { text: 'Run of ' + when(run.startedAt) }),
          progressPanel(run),
          h(
            'dl',
            { class: 'idp-kv' },
            h('dt', { text: 'Trigger' }),
            h('dd', { text: run.trigger }),
            h('dt', { text: 'Finished' }),
            h('dd', { text: when(run.finishedAt) }),
          ),
          h(
            'div',
            { class: 'aui field-group idp-filter' },
            h('label', { for: 'outcome-filter', text: 'Show ' }),
            filter,
          ),
          h(
            'div',
            { class: 'idp-table-wrap' },
            h(
              'table',
              { class: 'aui', id: 'operations' },
              h(
                'thead',
                {},
                h(
                  'tr',
                  {},
                  ['Operation', 'User / group', 'Outcome', 'Error', 'Reason', 'Attempts'].map(function (t) {
                    return h('th', { scope: 'col', text: t });
                  }),
                ),
              ),
              tbody,
            ),
          ),
          run.operations.length
            ? null
            : h('p', { class: 'idp-muted', text: 'No operations' + (status ? ' with this outcome.' : '.') }),
          more,
        );
        if (run.status === 'running')
          timers.push(
            setInterval(function () {
              api('GET', '/runs/' + id + '?limit=0')
                .then(must)
                .then(function (r) {
                  var p = $('progress');
                  if (p) p.replaceWith(progressPanel(r));
                });
            }, 1500),
          );
      });
  }

  function viewCredentials(mount) {
    var form = h(
      'form',
      { class: 'aui', id: 'site-credentials', novalidate: true },
      field(
        'email',
        'Site admin email',
        h('input', {
          class: 'text long-field',
          type: 'email',
          id: 'email',
          name: 'email',
          autocomplete: 'off',
          required: true,
          'aria-describedby': 'email-error',
        }),
        null,
        true,
      ),
      field(
        'apiToken',
        'API token',
        h('input', {
          class: 'text long-field',
          type: 'password',
          id: 'apiToken',
          name: 'apiToken',
          autocomplete: 'new-password',
          'aria-describedby': 'apiToken-help apiToken-error',
        }),
        'Not set',
      ),
      field('orgId', 'Organization ID', text('orgId', '')),
      field(
        'orgApiKey',
        'Organization API key',
        h('input', {
          class: 'text long-field',
          type: 'password',
          id: 'orgApiKey',
          name: 'orgApiKey',
          autocomplete: 'new-password',
          'aria-describedby': 'orgApiKey-help orgApiKey-error',
        }),
        'Not set',
      ),
      h(
        'div',
        { class: 'buttons-container' },
        h(
          'div',
          { class: 'buttons' },
          h(
            'button',
            { class: 'aui-button aui-button-primary', type: 'submit', id: 'save-credentials' },
            'Verify and save',
          ),
          h('span', { id: 'save-status', class: 'idp-status', 'aria-live': 'polite' }),
        ),
      ),
    );
    function show(c) {
      $('email').value = c.email || '';
      $('orgId').value = c.orgId || '';
      $('apiToken').value = '';
      $('orgApiKey').value = '';
      $('apiToken-help').textContent = c.apiTokenSet
        ? 'Set (verified ' + when(c.verifiedAt) + '). Leave empty to keep it.'
        : 'Not set';
      $('orgApiKey-help').textContent = c.orgApiKeySet ? 'Set. Leave empty to keep it.' : 'Not set';
    }
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      showFieldErrors(form, {});
      var body = { email: $('email').value.trim() };
      if ($('apiToken').value) body.apiToken = $('apiToken').value;
      if ($('orgId').value.trim()) body.orgId = $('orgId').value.trim();
      if ($('orgApiKey').value) body.orgApiKey = $('orgApiKey').value;
      $('save-status').textContent = 'Verifying with Jira…';
      api('PUT', '/site-credentials', body).then(function (r) {
        if (r.ok) {
          $('save-status').textContent = 'Saved and verified.';
          show(r.data);
          refreshBanners();
          return;
        }
        $('save-status').textContent = showFieldErrors(form, r.data) ? '' : r.data.message || 'Saving failed.';
      });
    });
    mount(
      h('h2', { text: 'Site credentials' }),
      h(
        'p',
        { class: 'description' },
        "Jira lets apps read users and groups, but every user and group write needs a site administrator's email and ",
        h('a', {
          href: 'https://id.atlassian.com/manage-profile/security/api-tokens',
          target: '_blank',
          rel: 'noopener',
          text: 'API token',
        }),
        '. Deactivating accounts also needs an organization API key. Secrets are encrypted and never shown again.',
      ),
      form,
    );
    return api('GET', '/site-credentials').then(function (r) {
      if (r.ok && form.isConnected) show(r.data);
    });
  }

  // ---- routing ---------------------------------------------------------------------------------

  function route() {
    var hash = location.hash.replace(/^#\/?/, '');
    var q = {};
    var qi = hash.indexOf('?');
    if (qi >= 0) {
      hash
        .slice(qi + 1)
        .split('&')
        .forEach(function (kv) {
          var p = kv.split('=');
          q[decodeURIComponent(p[0])] = decodeURIComponent(p[1] || '');
        });
      hash = hash.slice(0, qi);
    }
    var parts = hash.split('/').filter(Boolean);
    document.querySelectorAll('[data-nav]').forEach(function (li) {
      li.classList.remove('aui-nav-selected');
    });
    var nav = parts[0] === 'new' ? 'new' : parts[0] === 'credentials' ? 'credentials' : 'connections';
    var navItem = document.querySelector('[data-nav="' + nav + '"]');
    if (navItem) navItem.classList.add('aui-nav-selected');
    var gen = ++current;
    var mount = function () {
      if (gen === current) mountNow.apply(null, arguments);
    };
    var done;
    if (parts[0] === 'new') done = viewNew(parts[1], mount);
    else if (parts[0] === 'credentials') done = viewCredentials(mount);
    else if (parts[0] === 'run' && parts[1]) done = viewRun(parts[1], q, mount);
    else if (parts[0] === 'c' && parts[1]) {
      var sub = parts[2] || '';
      if (sub === 'sync') done = viewSync(parts[1], mount);
      else if (sub === 'dryrun') done = viewDryRun(parts[1], mount);
      else if (sub === 'history') done = viewHistory(parts[1], mount);
      else if (sub === 'users' || sub === 'attributes' || sub === 'groups') done = rulesView(parts[1], sub, mount);
      else done = viewOverview(parts[1], q, mount);
    } else done = viewConnections(mount);
    Promise.resolve(done).catch(function (e) {
      mount(message('error', 'Something went wrong', e.message));
    });
  }

  window.addEventListener('hashchange', route);
  route();
  if (location.hash.indexOf('#/credentials') !== 0 && location.hash.replace(/^#\/?/, '') !== '') refreshBanners();
})();
