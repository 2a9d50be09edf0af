/*
 * The admin page: a thin client of /api/v1 inside Jira's admin iframe, as ES modules served as they
 * are. Views are routed by the URL hash; every text from the API goes into the page as text (never
 * as HTML). This module routes; the views live beside it.
 */
import { viewApiTokens } from './admin/apiTokens.js';
import { viewAudit } from './admin/audit.js';
import { refreshBanners } from './admin/banners.js';
import { viewConnections } from './admin/connections.js';
import { viewCredentials } from './admin/credentials.js';
import { message, mountNow } from './admin/dom.js';
import { viewHistory, viewRun } from './admin/history.js';
import { viewNew } from './admin/newConnection.js';
import { viewNotifications } from './admin/notifications.js';
import { viewOverview } from './admin/overview.js';
import { rulesView } from './admin/rules.js';
import { viewDryRun, viewSync } from './admin/sync.js';

/** Which route's render may still mount: a slow answer for a page the admin left is dropped. */
let current = 0;

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
  var nav =
    ['new', 'credentials', 'notifications', 'audit', 'api-tokens'].indexOf(parts[0]) >= 0 ? parts[0] : 'connections';
  var navItem = document.querySelector('[data-nav="' + nav + '"]');
  if (navItem) navItem.classList.add('aui-nav-selected');
  var gen = ++current;
  var mount = function () {
    if (gen === current) mountNow.apply(null, arguments);
  };
  var done;
  if (parts[0] === 'new') done = viewNew(parts[1], mount);
  else if (parts[0] === 'credentials') done = viewCredentials(mount);
  else if (parts[0] === 'notifications') done = viewNotifications(mount);
  else if (parts[0] === 'audit') done = viewAudit(q, mount);
  else if (parts[0] === 'api-tokens') done = viewApiTokens(mount);
  else if (parts[0] === 'run' && parts[1]) done = viewRun(parts[1], q, mount);
  else if (parts[0] === 'c' && parts[1]) {
    var sub = parts[2] || '';
    if (sub === 'sync') done = viewSync(parts[1], mount);
    else if (sub === 'dryrun') done = viewDryRun(parts[1], mount);
    else if (sub === 'history') done = viewHistory(parts[1], mount);
    else if (sub === 'users' || sub === 'attributes' || sub === 'groups' || sub === 'customers')
      done = rulesView(parts[1], sub, mount);
    else done = viewOverview(parts[1], q, mount);
  } else done = viewConnections(mount);
  Promise.resolve(done).catch(function (e) {
    // Under Forge the page is static: the server's refusal of a non-administrator arrives as the API's 403.
    if (e.response && e.response.status === 403)
      return mount(
        message('warning', 'Administrators only', 'Only Jira administrators can configure IdP User & Group Sync.'),
      );
    mount(message('error', 'Something went wrong', e.message));
  });
}

window.addEventListener('hashchange', route);
route();
if (location.hash.indexOf('#/credentials') !== 0 && location.hash.replace(/^#\/?/, '') !== '')
  refreshBanners().catch(function () {}); // the view shows what went wrong
