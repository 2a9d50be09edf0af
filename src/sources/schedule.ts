import { z } from 'zod';

/** The schedules every pull source offers, in minutes between reads (0: none). */
export const SCHEDULE_MINUTES = [0, 5, 10, 15, 20, 30, 60, 120, 180, 240, 360, 480, 720, 1440] as const;

/** Minutes between scheduled syncs of a pull connection (0: none); every pull source offers the same choices. */
export const scheduleMinutesSchema = z
  .number()
  .int()
  .refine(
    (n) => (SCHEDULE_MINUTES as readonly number[]).includes(n),
    `must be one of ${SCHEDULE_MINUTES.join(', ')} (0: no schedule)`,
  )
  .default(60);
