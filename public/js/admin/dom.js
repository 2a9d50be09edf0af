/* DOM helpers: elements, form fields, messages, field errors, copy buttons, and the page mount. */

export const app = document.getElementById('app');
export const timers = [];

// ---- DOM helpers ----------------------------------------------------------------------------

/** h('div', {class: 'x', onclick: fn}, child, 'text', [more]) */
export function h(tag, attrs) {
  var el = document.createElement(tag);
  Object.keys(attrs || {}).forEach(function (k) {
    var v = attrs[k];
    if (v === undefined || v === null || v === false) return;
    if (k.slice(0, 2) === 'on') el.addEventListener(k.slice(2), v);
    else if (k === 'text') el.textContent = v;
    else if (k === 'value') el.value = v;
    else if (k === 'checked') el.checked = !!v;
    else if (k === 'style') setStyle(el, v);
    else el.setAttribute(k, v === true ? '' : v);
  });
  for (var i = 2; i < arguments.length; i++) append(el, arguments[i]);
  return el;
}
/**
 * 'width:40%;color:red' set property by property (CSSOM): Forge's Custom UI forbids inline style
 * attributes (no 'unsafe-inline'), which setAttribute('style') and cssText would be.
 */
function setStyle(el, css) {
  String(css)
    .split(';')
    .forEach(function (decl) {
      var i = decl.indexOf(':');
      if (i > 0) el.style.setProperty(decl.slice(0, i).trim(), decl.slice(i + 1).trim());
    });
}
export function append(el, c) {
  if (c === undefined || c === null || c === false) return;
  if (Array.isArray(c))
    return c.forEach(function (x) {
      append(el, x);
    });
  el.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
}
/** Replaces the page's content (only the latest route's render may: a slow answer for a page the admin left is dropped). */
export function mountNow() {
  timers.forEach(clearInterval);
  timers.length = 0;
  app.textContent = '';
  for (var i = 0; i < arguments.length; i++) append(app, arguments[i]);
  if (window.AP && AP.resize)
    try {
      AP.resize();
    } catch (_e) {
      /* outside Jira */
    }
}
export function message(kind, title, text, extra) {
  return h(
    'div',
    { class: 'aui-message aui-message-' + kind, role: kind === 'error' ? 'alert' : 'status' },
    title ? h('p', { class: 'title' }, h('strong', { text: title })) : null,
    text ? h('p', { text: text }) : null,
    extra || null,
  );
}
export function when(iso) {
  return iso ? new Date(iso).toLocaleString() : '—';
}
/** A run's failure, with its retries when it could not start for want of Jira. */
export function runError(run) {
  var text = run.error || '';
  if (run.attempts > 1) text += ' Tried ' + run.attempts + ' times.';
  if (run.nextTryAt) text += ' Next try at ' + when(run.nextTryAt) + '; changes wait until then.';
  return text;
}

export function lozenge(status) {
  var kind =
    {
      succeeded: 'success',
      partial: 'moved',
      failed: 'error',
      running: 'inprogress',
      done: 'success',
      parked: 'error',
      pending: 'default',
      active: 'success',
      expired: 'moved',
      revoked: 'error',
      paused: 'error',
      sent: 'success',
    }[status] || 'default';
  return h('span', { class: 'aui-lozenge aui-lozenge-' + kind, text: status });
}
export function field(id, label, input, help, required) {
  return h(
    'div',
    { class: 'field-group' },
    h('label', { for: id }, label, required ? h('span', { class: 'aui-icon icon-required', text: ' required' }) : null),
    input,
    help ? h('div', { class: 'description', id: id + '-help', text: help }) : null,
    h('div', { class: 'error', id: id + '-error', 'aria-live': 'polite' }),
  );
}
export function text(id, value, attrs) {
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
/** A multi-line text box described by its field's help and error. */
export function area(id, value, rows, placeholder) {
  return h(
    'textarea',
    {
      class: 'textarea long-field',
      id: id,
      name: id,
      rows: rows,
      placeholder: placeholder || null,
      'aria-describedby': id + '-help ' + id + '-error',
    },
    value || '',
  );
}
export function checkbox(id, label, checked, help) {
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
export function select(id, options, value) {
  return h(
    'select',
    { class: 'select long-field', id: id, name: id, 'aria-describedby': id + '-help ' + id + '-error' },
    options.map(function (o) {
      return h('option', { value: o[0], selected: String(o[0]) === String(value) ? 'selected' : null, text: o[1] });
    }),
  );
}
/** The choice of how often a pull connection synchronizes by itself (the API's schedule minutes). */
export function scheduleSelect(id, value) {
  return select(
    id,
    [
      [0, 'Never'],
      [15, 'Every 15 minutes'],
      [30, 'Every 30 minutes'],
      [60, 'Every hour'],
      [240, 'Every 4 hours'],
      [720, 'Every 12 hours'],
      [1440, 'Every day'],
    ],
    value,
  );
}
export function button(label, attrs) {
  return h('button', Object.assign({ class: 'aui-button', type: 'button' }, attrs || {}), label);
}
export function $(id) {
  return document.getElementById(id);
}
export function lines(v) {
  return v
    .split(/[\n,]/)
    .map(function (s) {
      return s.trim();
    })
    .filter(Boolean);
}

/** Puts an API's field errors next to their fields ("users.products" → #users-products); returns whether any was placed. */
export function showFieldErrors(form, data) {
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

export function copyButton(label, getText) {
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
