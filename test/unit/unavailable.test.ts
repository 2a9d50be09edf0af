import { isDatabaseUnavailable } from '../../src/db/unavailable';

/** Which errors mean "Postgres is away" (503 and Retry-After) and which are a bug or bad input. */
it.each([
  [
    'Sequelize could not connect',
    Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { name: 'SequelizeConnectionRefusedError' }),
  ],
  [
    'no pooled connection in time',
    Object.assign(new Error('Operation timeout'), { name: 'SequelizeConnectionAcquireTimeoutError' }),
  ],
  ['a socket refused', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })],
  [
    'the Unix socket of a stopped server',
    Object.assign(new Error('connect ENOENT /tmp/.s.PGSQL.5432'), { code: 'ENOENT', syscall: 'connect' }),
  ],
  [
    'pg_terminate_backend',
    Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }),
  ],
  ['starting up', Object.assign(new Error('the database system is starting up'), { code: '57P03' })],
  ['a connection exception (class 08)', Object.assign(new Error('connection failure'), { code: '08006' })],
  ['too many connections', Object.assign(new Error('sorry, too many clients already'), { code: '53300' })],
  ['the connection ended under a query', new Error('Connection terminated unexpectedly')],
  [
    'wrapped by Sequelize (parent)',
    Object.assign(new Error('x'), { name: 'SequelizeDatabaseError', parent: { code: '57P01', message: 'm' } }),
  ],
  [
    'ACE’s flattened store error',
    {
      code: 500,
      message: 'Could not lookup stored client data for k: SequelizeConnectionError: connect ENOENT /tmp/x',
    },
  ],
])('%s → unavailable', (_what, err) => expect(isDatabaseUnavailable(err)).toBe(true));

it.each([
  ['a unique violation', Object.assign(new Error('duplicate key value'), { code: '23505' })],
  ['a syntax error', Object.assign(new Error('syntax error at or near'), { code: '42601' })],
  [
    'a file not found (not a connect)',
    Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT', syscall: 'open' }),
  ],
  ['a plain bug', new TypeError("Cannot read properties of undefined (reading 'id')")],
  ['nothing', undefined],
  ['a string', 'boom'],
])('%s → not unavailable', (_what, err) => expect(isDatabaseUnavailable(err)).toBe(false));
