/* Site credentials: the site-admin email and API token, the organization API key. */
import { api } from './api.js';
import { refreshBanners } from './banners.js';
import { $, field, h, showFieldErrors, text, when } from './dom.js';

export function viewCredentials(mount) {
  var form = credentialsForm();
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
      '. An organization API key also lets the sync deactivate managed accounts, update their profiles (display name, job title, department) and find accounts whose emails are hidden. Secrets are encrypted and never shown again.',
    ),
    form,
  );
  return api('GET', '/site-credentials').then(function (r) {
    if (r.ok && form.isConnected) show(r.data);
  });
}

/** The form: the site admin's email and API token, the organization's id and API key (secrets write-only). */
function credentialsForm() {
  return h(
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
    field('orgId', 'Organization ID', text('orgId', ''), 'Leave empty to take it from the organization API key.'),
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
}
