/* User Sync Settings: updates, products, deprovisioning, reactivation, default project and component lead. */
import { $, checkbox, field, lines, select, text } from './dom.js';

/** The form's fields for the users part of the rules. */
export function userFields(u) {
  return [
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
    field(
      'users-reconcileEveryHours',
      'Full reconciliation with Jira',
      select(
        'users-reconcileEveryHours',
        [
          ['1', 'Every hour'],
          ['6', 'Every 6 hours'],
          ['12', 'Every 12 hours'],
          ['24', 'Daily'],
          ['48', 'Every 2 days'],
          ['168', 'Weekly'],
          ['0', 'Only when I click Synchronize'],
        ],
        String(u.reconcileEveryHours),
      ),
      'Reads Jira again and corrects changes made there by hand. SCIM changes and Entra ID delta reads in between are applied from what the app knows, without reading Jira.',
    ),
  ];
}

/** The users part of the rules, read back from the form. */
export function readUsers() {
  return {
    update: $('users-update').checked,
    products: lines($('users-products').value),
    deprovision: $('users-deprovision').value,
    productGroups: lines($('users-productGroups').value),
    reactivate: $('users-reactivate').checked,
    defaultProjectLead: $('users-defaultProjectLead').value.trim() || null,
    defaultComponentLead: $('users-defaultComponentLead').value.trim() || null,
    reconcileEveryHours: Number($('users-reconcileEveryHours').value),
  };
}
