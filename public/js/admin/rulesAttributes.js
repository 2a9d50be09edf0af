/* Attribute Mapping: where username, email, display name, job title and department come from; custom attributes → user properties. */
import { $, button, field, h, text } from './dom.js';
import { pairRow, pairs } from './pairs.js';

/** The form's fields for the attributes part of the rules. */
export function attributeFields(a, form) {
  return [
    field(
      'attributes-userName',
      'Username from',
      text('attributes-userName', a.userName),
      'An IdP attribute path, e.g. userName or userPrincipalName.',
    ),
    field('attributes-email', 'Email from', text('attributes-email', a.email), 'e.g. emails[primary] or mail.'),
    field('attributes-displayName', 'Display name from', text('attributes-displayName', a.displayName)),
    field(
      'attributes-jobTitle',
      'Job title from',
      text('attributes-jobTitle', a.jobTitle || ''),
      'Display name, job title and department go to managed accounts’ profiles (needs an organization API key). Empty: not updated.',
    ),
    field('attributes-department', 'Department from', text('attributes-department', a.department || '')),
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
  ];
}

/** The attributes part of the rules, read back from the form. */
export function readAttributes(form) {
  return {
    userName: $('attributes-userName').value.trim(),
    email: $('attributes-email').value.trim(),
    displayName: $('attributes-displayName').value.trim(),
    jobTitle: $('attributes-jobTitle').value.trim() || null,
    department: $('attributes-department').value.trim() || null,
    custom: pairs(form, 'custom').map(function (p) {
      return { from: p[0], propertyKey: p[1] };
    }),
  };
}
