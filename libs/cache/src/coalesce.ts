import type { Socket } from 'node:net';
import type { Cluster, Redis } from 'ioredis';

type Pending = { socket: Socket; immediate: boolean; timer?: NodeJS.Timeout };
type Patched = Redis & { stream?: Socket; rotaCoalesced?: true; rotaBackground?: number };

/** How long a background command (a fill) may wait for a foreground one to share its write. */
export const BACKGROUND_WRITE_DELAY_MS = 2;

/**
 * Makes `redis` send the commands issued during one event-loop turn in a single socket write:
 * the first command of a turn corks the socket and a setImmediate (the same turn's check phase)
 * uncorks it. Under load an API process handles many requests per turn, and on loopback every
 * write costs a syscall plus the kernel's TCP work for both ends — the biggest single cost of a
 * cache hit. ioredis's own enableAutoPipelining flushes on process.nextTick, i.e. after every
 * I/O callback, so it never joins two requests' commands. Replies, timeouts and errors are
 * ioredis's as before; only the write is deferred, by less than one loop turn.
 *
 * Commands issued inside {@link inBackground} (the cache's fills, which nobody waits for) do not
 * force a write of their own: they wait up to {@link BACKGROUND_WRITE_DELAY_MS} and leave with
 * the next foreground command's write. Under load that is the next request's cache read, so a
 * miss costs one write to Redis instead of two.
 */
export function coalesceWrites(redis: Redis): void {
  const r = redis as Patched;
  if (r.rotaCoalesced) return;
  r.rotaCoalesced = true;
  r.rotaBackground = 0;
  const send = r.sendCommand.bind(r);
  let pending: Pending | undefined;
  const flush = (p: Pending): void => {
    if (pending !== p) return;
    pending = undefined;
    if (p.timer !== undefined) clearTimeout(p.timer);
    p.socket.uncork();
  };
  r.sendCommand = ((command: Parameters<Redis['sendCommand']>[0], stream?: Parameters<Redis['sendCommand']>[1]) => {
    const s = r.stream;
    if (stream === undefined && s !== undefined && r.status === 'ready') {
      if (pending !== undefined && pending.socket !== s) flush(pending); // reconnected meanwhile
      const background = (r.rotaBackground ?? 0) > 0;
      if (pending === undefined) {
        s.cork();
        const p: Pending = { socket: s, immediate: !background };
        pending = p;
        if (background) p.timer = setTimeout(() => flush(p), BACKGROUND_WRITE_DELAY_MS);
        else setImmediate(() => flush(p));
      } else if (!background && !pending.immediate) {
        const p = pending;
        p.immediate = true;
        setImmediate(() => flush(p));
      }
    }
    return send(command, stream);
  }) as Redis['sendCommand'];
}

/**
 * Runs `issue`, whose commands are sent synchronously, as background work: on a client set up by
 * {@link coalesceWrites} they may wait a little for the next foreground write (see there); on
 * any other client this is just `issue()`.
 */
export function inBackground<T>(redis: Redis | Cluster, issue: () => T): T {
  const r = redis as Patched;
  if (r.rotaBackground === undefined) return issue();
  r.rotaBackground++;
  try {
    return issue();
  } finally {
    r.rotaBackground--;
  }
}
