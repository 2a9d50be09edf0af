import type { Config } from '../config';
import type { SecretBox } from '../crypto/secrets';
import type { Sql } from '../db/sql';
import type { Logger } from '../logger';
import type { AddressGuard } from '../sources/outbound';
import { Channels } from './channels';
import { DeliveryStore } from './deliveries';
import { NoticeStore } from './notices';
import { Notifier } from './notifier';
import { PushTracker } from './pushes';
import { SettingsStore } from './settings';
import { Watch } from './watch';

/** The alerts for sites' admins, wired once: the stores, the channels, the notifier and the SCIM push tracker. */
export function buildNotifications(d: {
  sql: Sql;
  box: SecretBox;
  guard: AddressGuard;
  config: Config;
  logger: Logger;
  addonKey: string;
}) {
  const settings = new SettingsStore(d.sql, d.box);
  const notices = new NoticeStore(d.sql);
  const watch = new Watch(d.sql);
  const channels = new Channels({ guard: d.guard, ...d.config.notifications });
  const notifier = new Notifier({
    settings,
    notices,
    deliveries: new DeliveryStore(d.sql),
    watch,
    channels,
    logger: d.logger,
    addonKey: d.addonKey,
    options: d.config.notifications,
  });
  return { settings, notices, channels, notifier, pushes: new PushTracker(watch, d.logger) };
}
