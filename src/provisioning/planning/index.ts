import { runAtOnce, runSliced } from '../../slices';
import type { Plan, PlanInput } from './types';
import { PlanContext, type Steps } from './context';
import { planDeparted, planMirror } from './deprovision';
import { planGroups } from './groups';
import { profilesWarning } from './profiles';
import { planUsers } from './users';

/**
 * Plans what Jira needs so that it matches what the IdP says, under the connection's rules: pure,
 * no I/O. Operations come in phase order (groups, users, properties, memberships, leads,
 * deprovisioning), each with its reason; what cannot be done is a warning. The parts live in
 * `planning/`: the groups, the users (new, linked, their memberships), deprovisioning and the
 * mirror, profiles and properties, over one `PlanContext`.
 */
export function plan(input: PlanInput): Plan {
  return runAtOnce(planSteps(input));
}

/**
 * The same plan, giving the event loop back every few milliseconds of work: a plan of 100,000 users
 * takes seconds, and SCIM calls arriving meanwhile are answered between its slices.
 */
export function planSliced(input: PlanInput): Promise<Plan> {
  return runSliced(planSteps(input));
}

function* planSteps(input: PlanInput): Steps<Plan> {
  const ctx = new PlanContext(input);
  yield* planGroups(ctx);
  yield* planUsers(ctx);
  yield* planDeparted(ctx);
  yield* planMirror(ctx);
  profilesWarning(ctx);
  return { operations: ctx.ops.sort((a, b) => a.phase - b.phase), warnings: ctx.warnings };
}
