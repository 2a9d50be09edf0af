import { Sequelize } from 'sequelize';

/** The one Sequelize instance of a process, over Postgres. */
export function createSequelize(url: string, poolMax = 10): Sequelize {
  return new Sequelize(url, {
    dialect: 'postgres',
    logging: false,
    // Bounded waits while Postgres is away: a connection attempt gives up after 5 s, a request
    // waiting for a pooled connection after 10 s (then 503 with Retry-After, see unavailable.ts).
    pool: { max: poolMax, min: 0, idle: 10_000, acquire: 10_000 },
    dialectOptions: { connectionTimeoutMillis: 5_000, keepAlive: true },
    define: { underscored: true, timestamps: true },
  });
}

/** True when the database answers a trivial query (health checks). */
export async function isDatabaseReachable(sequelize: Sequelize, timeoutMs = 2000): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([
      sequelize.query('SELECT 1').then(
        () => true,
        () => false,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
