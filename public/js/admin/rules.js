/* The rules forms (User Sync, Attribute Mapping, Group Sync with its live preview): load, save, field errors. */
import { api, must } from './api.js';
import { $, append, h, lines, showFieldErrors } from './dom.js';
import { loadConnection, tabs } from './overview.js';
import { attributeFields, readAttributes } from './rulesAttributes.js';
import { groupFields, groupPreview, readGroups } from './rulesGroups.js';
import { readUsers, userFields } from './rulesUsers.js';
import { customerFields, loadJsmLists, readCustomers } from './rulesCustomers.js';

/** Each part of the rules: its fields, and how to read them back. */
const PARTS = {
  users: { fields: userFields, read: readUsers },
  attributes: { fields: attributeFields, read: readAttributes },
  groups: { fields: groupFields, read: readGroups },
  customers: { fields: customerFields, read: readCustomers },
};

/** Rules forms: each edits a part of the rules and PUTs them whole; errors come back by field. */
export function rulesView(id, part, mount) {
  return Promise.all([
    loadConnection(id),
    api('GET', '/connections/' + id + '/rules').then(must),
    part === 'customers' ? loadJsmLists() : null,
  ]).then(function (x) {
    var c = x[0];
    var rules = x[1];
    var form = h('form', { class: 'aui', id: 'rules-' + part, novalidate: true });
    var part_ = PARTS[part];
    append(form, part_.fields(rules[part], form, x[2]));
    var extra = part === 'groups' ? groupPreview() : null;
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
      r[part] = part_.read(form);
      return r;
    }
    var preview = part === 'groups' ? livePreview(id, form, collect) : { soon: function () {} };
    form.addEventListener('input', preview.soon);
    form.addEventListener('change', preview.soon);
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
      $('preview-samples').addEventListener('input', preview.soon);
      preview();
    }
  });
}

/**
 * Group Sync's live preview: what sample IdP group names map to under the rules as the form holds
 * them, asked again a quarter of a second after the last edit (`soon`), or at once (called).
 */
function livePreview(id, form, collect) {
  var timer;
  function preview() {
    if (!form.isConnected) return; // the admin moved on to another page
    api('POST', '/connections/' + id + '/rules/preview', {
      samples: lines($('preview-samples').value.replace(/,/g, ' ')).slice(0, 100),
      rules: collect(),
    }).then(function (r) {
      if (!form.isConnected) return;
      var tb = $('preview').querySelector('tbody');
      tb.textContent = '';
      $('preview-error').textContent = '';
      if (!r.ok) {
        showFieldErrors(form, withinRules(r.data));
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
  preview.soon = function () {
    clearTimeout(timer);
    timer = setTimeout(preview, 250);
  };
  return preview;
}

/** The preview's errors name fields inside its `rules` member; the form names them from the rules down. */
function withinRules(err) {
  var fields = {};
  Object.keys((err && err.fields) || {}).forEach(function (k) {
    fields[k.replace(/^rules\./, '')] = err.fields[k];
  });
  return Object.assign({}, err, { fields: fields });
}
