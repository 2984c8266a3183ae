// One fixed-rate phase in a process of its own (bench/api.ts forks this for every phase): the
// load generator's event loop and heap are not shared with the orchestrator (autocannon's
// leftovers, the captured SQL, the results), so its own pauses add less to what it measures.
import { paced } from './load.ts';

type Options = Parameters<typeof paced>[0];

process.once('message', (o: Options) => {
  paced(o).then(
    (r) => process.send!({ ok: r }, () => process.exit(0)),
    (e: unknown) => process.send!({ error: String(e) }, () => process.exit(1)),
  );
});
