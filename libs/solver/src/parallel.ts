/**
 * Pieces shared by everything that runs several independent searches of one instance in
 * parallel threads (solveInWorker's `threads`, the scheduler worker's solver pool). Runs vary a
 * lot by seed on tight instances (Curtois 2 reaches its optimum in about one 5 s search in
 * four), so more independent searches in the same wall time is the cheapest gain of a core.
 */

/**
 * Seed of parallel search `index`. Search 0 keeps the caller's seed, so one thread is exactly
 * the plain solve(); the others get well-mixed seeds, far from the `seed + k·1 000 003` that
 * solve() uses for its sequential restarts, so no two searches repeat each other.
 */
export function searchSeed(seed: number, index: number): number {
  if (index === 0) return seed;
  let h = (seed ^ Math.imul(index, 0x9e3779b9)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * The winner of parallel searches: the lowest score; ties go to the lowest search index (not to
 * whichever finished first), so a run with maxIterations gives the same roster for a seed.
 */
export function bestOf<T extends { score: { total: number } }>(results: readonly T[]): T {
  if (results.length === 0) throw new Error('bestOf: no results');
  let best = results[0]!;
  for (const r of results) if (r.score.total < best.score.total - 1e-9) best = r;
  return best;
}

/** Latest progress of each search → one figure: best score over all, furthest progress. */
export function combineProgress<P extends { bestScore: number; progress: number; elapsedMs: number }>(latest: readonly (P | undefined)[]): P | undefined {
  let out: P | undefined;
  for (const p of latest) {
    if (!p) continue;
    out = out
      ? { ...out, bestScore: Math.min(out.bestScore, p.bestScore), progress: Math.max(out.progress, p.progress), elapsedMs: Math.max(out.elapsedMs, p.elapsedMs) }
      : p;
  }
  return out;
}

/** What runSearches needs of one search's result. */
export interface SearchOutcome {
  score: { total: number };
  stoppedBy: string;
  iterations: number;
}

/**
 * Runs searches 0..n-1 (`start(i)`) side by side and resolves with the best (bestOf), its
 * iterations the sum over all and its stoppedBy 'optimal' when any search proved its roster
 * optimal. `stopAll` (the shared stop flag) is called as soon as one search proves optimality —
 * the others cannot beat it — unless `stopOnOptimal` is false (maxIterations runs, which must
 * not depend on timing), and when one fails: the run then rejects with that first error.
 */
export async function runSearches<R extends SearchOutcome>(n: number, start: (i: number) => Promise<R>, stopAll: () => void, stopOnOptimal: boolean): Promise<R> {
  const results = await Promise.all(
    Array.from({ length: n }, (_x, i) =>
      start(i).then(
        (r) => {
          if (stopOnOptimal && r.stoppedBy === 'optimal') stopAll();
          return r;
        },
        (e: unknown) => {
          stopAll();
          throw e;
        },
      ),
    ),
  );
  const best = bestOf(results);
  return {
    ...best,
    iterations: results.reduce((s, r) => s + r.iterations, 0),
    stoppedBy: results.find((r) => r.stoppedBy === 'optimal')?.stoppedBy ?? best.stoppedBy,
  };
}
