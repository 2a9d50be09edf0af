/** What applying an operation came to: its outcome word (for the history and counts). */
export type Outcome = string;

/** The operation could not be applied, for a reason that retrying will not change. */
export class CannotApply extends Error {}
