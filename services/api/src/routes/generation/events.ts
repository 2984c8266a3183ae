import { TERMINAL_STATUSES } from '@rota/generation';
import { route } from '../../http/route.ts';
import { idsParams } from '../../http/validate.ts';
import { readRunRow, runJson, type RunJson } from './shape.ts';
import { visibleRun } from './read.ts';

/** Fallback refresh while no pub/sub event arrives (lost messages, Redis down, queue position). */
const POLL_MS = 1000;
const HEARTBEAT_MS = 15_000;

export const eventsRoute = route({
  method: 'get',
  path: '/v1/schedule-generations/:id/events',
  summary: 'Server-Sent Events: the run status object (event "status") on every change until a terminal state',
  tag: 'schedule-generations',
  scope: 'schedules:read',
  params: idsParams,
  responses: {
    200: { description: 'text/event-stream of `event: status` messages whose data is the run object; the stream ends after succeeded, failed or cancelled', contentType: 'text/event-stream' },
    403: { description: 'Outside your scope' },
    404: { description: 'Unknown run' },
  },
  handler: async ({ res, params, principal, deps }) => {
    const run = await visibleRun(deps, principal, params.id);
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.write('retry: 2000\n\n');
    let last = '';
    let seq = 0;
    let done = false;
    let busy = false;
    let again = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearInterval(poll);
      clearInterval(heartbeat);
      unsubscribe();
      res.end();
    };
    const send = (json: RunJson): void => {
      if (done) return;
      const data = JSON.stringify(json);
      if (data !== last) {
        last = data;
        res.write(`event: status\nid: ${++seq}\ndata: ${data}\n\n`);
      }
      if (TERMINAL_STATUSES.includes(json.status)) finish();
    };
    const refresh = async (): Promise<void> => {
      if (done) return;
      if (busy) { again = true; return; }
      busy = true;
      try {
        const row = await readRunRow(deps.db, run.id);
        if (row) send(await runJson(row, deps.generation));
      } catch (err) {
        deps.logger.debug({ err, runId: run.id }, 'sse refresh failed');
      } finally {
        busy = false;
        if (again) { again = false; void refresh(); }
      }
    };
    const unsubscribe = deps.generation.subscribe(run.id, () => void refresh());
    const poll = setInterval(() => void refresh(), POLL_MS);
    const heartbeat = setInterval(() => { if (!done) res.write(': heartbeat\n\n'); }, HEARTBEAT_MS);
    res.on('close', finish);
    send(await runJson(run, deps.generation));
  },
});
