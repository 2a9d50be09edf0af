/* Rows of two inputs (IdP attribute → property key, IdP group → Jira groups), added and removed by the admin. */
import { button, h } from './dom.js';

/** The non-empty [a, b] pairs of one kind in a form. */
export function pairs(form, kind) {
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

/** One removable row of a pair table. */
export function pairRow(kind, i, a, b, labelA, labelB) {
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
