// The Redis server of a masam job queue, from a `redis://[user:password@]host[:port][/db]` URL, as the
// connection options BullMQ takes. Workers wait for Redis to come back (BullMQ needs unlimited retries
// per request); one-shot commands (submit, status) give up after a few seconds with a clear error.
import type { ConnectionOptions } from 'bullmq';
import { MasamError } from '../core/errors.js';

/** The default server: a Redis on this machine. */
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/** Connection options for `url`; `persistent` for workers, which must outlive Redis restarts. */
export function redisConnection(url: string, persistent: boolean): ConnectionOptions {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new MasamError(`--redis: not a URL: '${url}' (expected redis://host:port)`);
  }
  if (parsed.protocol !== 'redis:') {
    throw new MasamError(`--redis: '${url}' is not a redis:// URL`);
  }
  const db = parsed.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d+$/.test(db))
    throw new MasamError(`--redis: '${url}': the database must be a number`);
  return {
    host: parsed.hostname || '127.0.0.1',
    port: parsed.port === '' ? 6379 : Number(parsed.port),
    ...(parsed.username && { username: decodeURIComponent(parsed.username) }),
    ...(parsed.password && { password: decodeURIComponent(parsed.password) }),
    ...(db !== '' && { db: Number(db) }),
    ...(persistent
      ? { maxRetriesPerRequest: null }
      : {
          maxRetriesPerRequest: 1,
          connectTimeout: 3000,
          // A few quick tries, then the pending command fails instead of waiting for ever.
          retryStrategy: (times: number) => (times > 3 ? null : 200 * times),
        }),
  };
}
