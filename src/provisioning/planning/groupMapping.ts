import type { Rules } from '../rules';

/**
 * The Jira groups an IdP group maps to: its manual mappings, plus (when on-the-fly mapping is on
 * and the include/exclude filters let it through) the same name, rewritten by the pattern when one
 * is set (`^AAD-(.*)$` → `$1`; a name the pattern does not match is not mapped on the fly).
 */
export function jiraGroupsFor(idpGroup: string, rules: Rules['groups']): string[] {
  const out = new Map<string, string>();
  const add = (name: string) => {
    const trimmed = name.trim();
    if (trimmed) out.set(trimmed.toLowerCase(), out.get(trimmed.toLowerCase()) ?? trimmed);
  };
  for (const m of rules.manual) if (m.idpGroup.toLowerCase() === idpGroup.toLowerCase()) m.jiraGroups.forEach(add);
  const fly = rules.onTheFly;
  const included = rules.include.length === 0 || rules.include.some((r) => new RegExp(r).test(idpGroup));
  const excluded = rules.exclude.some((r) => new RegExp(r).test(idpGroup));
  if (fly.enabled && included && !excluded) {
    if (!fly.pattern) add(idpGroup);
    else {
      const re = new RegExp(fly.pattern);
      if (re.test(idpGroup)) add(idpGroup.replace(re, fly.replacement));
    }
  }
  return [...out.values()];
}

/** Previews on-the-fly and manual mapping for sample names (the admin page's live preview). */
export function previewMapping(
  samples: string[],
  rules: Rules['groups'],
): Array<{ idpGroup: string; jiraGroups: string[] }> {
  return samples.map((idpGroup) => ({ idpGroup, jiraGroups: jiraGroupsFor(idpGroup, rules) }));
}
