import { execFile, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const run = promisify(execFile);

/**
 * Parses a YAML file (all its documents) through python3 + PyYAML, which the machines have; the
 * workspace has no YAML parser for Node and these tests need only a reader.
 */
export function readYamlDocuments(path: string): unknown[] {
  const r = spawnSync('python3', ['-c', 'import json,sys,yaml; print(json.dumps([d for d in yaml.safe_load_all(open(sys.argv[1])) if d is not None]))', path], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cannot parse ${path} as YAML: ${r.stderr}`);
  return JSON.parse(r.stdout) as unknown[];
}

export function readYaml<T>(path: string): T {
  const docs = readYamlDocuments(path);
  if (docs.length !== 1) throw new Error(`${path}: expected one YAML document, found ${docs.length}`);
  return docs[0] as T;
}

/** Installs prometheus/promtool when missing (Debian package, see infra/scripts). */
export function ensurePrometheus(): void {
  const r = spawnSync('bash', [resolve(repoRoot, 'infra/scripts/prometheus-ensure.sh')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`prometheus-ensure.sh failed:\n${r.stdout}\n${r.stderr}`);
}

/** GitHub's anchor for a Markdown heading (lower case, punctuation dropped, spaces → dashes). */
export function githubAnchor(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
}

export function markdownAnchors(path: string): Set<string> {
  const anchors = new Set<string>();
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const m = /^#{1,6}\s+(.*)$/.exec(line);
    if (m?.[1]) anchors.add(githubAnchor(m[1]));
  }
  return anchors;
}
