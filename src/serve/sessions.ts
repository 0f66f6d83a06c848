// MONAI Label sessions for `masam serve` (`PUT /session/`, `GET|DELETE /session/{id}`): an image a client
// sends once and then names by session id in `/infer?session_id=`, without adding it to the datastore
// (3D Slicer's "session" mode). Kept in memory as the uploaded bytes, each until its expiry.
import { randomUUID } from 'node:crypto';
import { ServeError } from './serve_error.js';

interface Session {
  readonly id: string;
  readonly bytes: Uint8Array;
  readonly name: string;
  readonly createdMs: number;
  lastAccessMs: number;
  readonly expirySeconds: number;
}

export class SessionStore {
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly defaultExpirySeconds: number,
    /** Sessions kept at once; the oldest goes first. */
    private readonly maxSessions: number,
  ) {}

  private prune(now: number): void {
    for (const [id, s] of this.sessions) {
      if (now - s.lastAccessMs > s.expirySeconds * 1000) this.sessions.delete(id);
    }
    while (this.sessions.size > this.maxSessions) this.sessions.delete(this.sessions.keys().next().value!);
  }

  add(bytes: Uint8Array, name: string, expirySeconds?: number): Session {
    const now = Date.now();
    const session: Session = {
      id: randomUUID(),
      bytes,
      name,
      createdMs: now,
      lastAccessMs: now,
      expirySeconds: expirySeconds && expirySeconds > 0 ? expirySeconds : this.defaultExpirySeconds,
    };
    this.sessions.set(session.id, session);
    this.prune(now);
    return session;
  }

  /** @throws ServeError 404 for an unknown or expired session */
  get(id: string): Session {
    const now = Date.now();
    this.prune(now);
    const session = this.sessions.get(id);
    if (!session) throw new ServeError(404, `session '${id}' not found (unknown or expired)`);
    session.lastAccessMs = now;
    return session;
  }

  remove(id: string): Session {
    const session = this.get(id);
    this.sessions.delete(id);
    return session;
  }

  /** A session as MONAI Label describes it. */
  static describe(s: Session): Record<string, unknown> {
    return {
      name: s.id,
      image: s.name,
      meta: {},
      create_ts: Math.floor(s.createdMs / 1000),
      last_access_ts: Math.floor(s.lastAccessMs / 1000),
      expiry: s.expirySeconds,
    };
  }
}
