import type { Socket } from 'node:net';
import type { Redis } from 'ioredis';

type Patched = Redis & { stream?: Socket; rotaCoalesced?: true };

/**
 * Makes `redis` send the commands issued during one event-loop turn in a single socket write:
 * the first command of a turn corks the socket and a setImmediate (the same turn's check phase)
 * uncorks it. Under load an API process handles many requests per turn, and on loopback every
 * write costs a syscall plus the kernel's TCP work for both ends — the biggest single cost of a
 * cache hit. ioredis's own enableAutoPipelining flushes on process.nextTick, i.e. after every
 * I/O callback, so it never joins two requests' commands. Replies, timeouts and errors are
 * ioredis's as before; only the write is deferred, by less than one loop turn.
 */
export function coalesceWrites(redis: Redis): void {
  const r = redis as Patched;
  if (r.rotaCoalesced) return;
  r.rotaCoalesced = true;
  const send = r.sendCommand.bind(r);
  let corked: Socket | undefined;
  r.sendCommand = ((command: Parameters<Redis['sendCommand']>[0], stream?: Parameters<Redis['sendCommand']>[1]) => {
    const s = r.stream;
    if (stream === undefined && s !== undefined && corked !== s && r.status === 'ready') {
      corked = s;
      s.cork();
      setImmediate(() => {
        corked = undefined;
        s.uncork();
      });
    }
    return send(command, stream);
  }) as Redis['sendCommand'];
}
