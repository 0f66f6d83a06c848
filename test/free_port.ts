// A TCP port free on 127.0.0.1 right now, for a real service a test starts (Orthanc, redis-server): the
// kernel picks it, the probe socket closes, and the service binds it next.
import { createServer } from 'node:net';

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const port = (server.address() as { port: number }).port;
  await new Promise((ok) => server.close(ok));
  return port;
}
