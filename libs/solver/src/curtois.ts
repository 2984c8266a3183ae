/**
 * Curtois & Qu shift scheduling benchmark instances (schedulingbenchmarks.org/nrp, text format):
 * parser into the solver model, and the benchmark's own objective computed straight from its
 * definition (independent of score.ts).
 */
import type { Assignment, EmployeeSpec, Instance, ShiftRequest } from './model.ts';

export class CurtoisParseError extends Error {
  override readonly name = 'CurtoisParseError';
  readonly line: number;
  constructor(line: number, message: string) {
    super(`line ${line}: ${message}`);
    this.line = line;
  }
}

interface Line {
  no: number;
  fields: string[];
}

const SECTIONS = [
  'SECTION_HORIZON',
  'SECTION_SHIFTS',
  'SECTION_STAFF',
  'SECTION_DAYS_OFF',
  'SECTION_SHIFT_ON_REQUESTS',
  'SECTION_SHIFT_OFF_REQUESTS',
  'SECTION_COVER',
] as const;
type SectionName = (typeof SECTIONS)[number];

function splitSections(text: string): Map<SectionName, { header: number; lines: Line[] }> {
  const sections = new Map<SectionName, { header: number; lines: Line[] }>();
  let current: Line[] | null = null;
  text.split(/\r?\n/).forEach((raw, i) => {
    const no = i + 1;
    const hash = raw.indexOf('#');
    const isComment = hash >= 0;
    const content = (isComment ? raw.slice(0, hash) : raw).trim();
    if (content === '') {
      // A blank line ends a section; a comment line does not.
      if (!isComment) current = null;
      return;
    }
    if (content.startsWith('SECTION_')) {
      if (!(SECTIONS as readonly string[]).includes(content)) throw new CurtoisParseError(no, `unknown section ${content}`);
      const name = content as SectionName;
      if (sections.has(name)) throw new CurtoisParseError(no, `section ${name} appears twice`);
      current = [];
      sections.set(name, { header: no, lines: current });
      return;
    }
    if (current === null) throw new CurtoisParseError(no, `data outside of any section: "${content}"`);
    current.push({ no, fields: content.split(',').map((f) => f.trim()) });
  });
  return sections;
}

function int(line: Line, index: number, what: string, min = 0): number {
  const raw = line.fields[index];
  if (raw === undefined || raw === '') throw new CurtoisParseError(line.no, `missing ${what} (field ${index + 1})`);
  if (!/^-?\d+$/.test(raw)) throw new CurtoisParseError(line.no, `${what} must be an integer, got "${raw}"`);
  const v = Number(raw);
  if (v < min) throw new CurtoisParseError(line.no, `${what} must be ≥ ${min}, got ${v}`);
  return v;
}

/** Parses one instance file's text. Day 0 is a Monday; shifts get start minute 0 and no rest rule. */
export function parseCurtois(text: string): Instance {
  const sections = splitSections(text);
  const need = (name: SectionName): Line[] => {
    const s = sections.get(name);
    if (!s) throw new CurtoisParseError(0, `missing section ${name}`);
    return s.lines;
  };

  const horizon = need('SECTION_HORIZON');
  const hLine = horizon[0];
  if (!hLine) throw new CurtoisParseError(sections.get('SECTION_HORIZON')?.header ?? 0, 'SECTION_HORIZON is empty');
  const days = int(hLine, 0, 'horizon length', 1);

  const shiftLines = need('SECTION_SHIFTS');
  const typeIndex = new Map<string, number>();
  shiftLines.forEach((l) => {
    const id = l.fields[0] ?? '';
    if (id === '') throw new CurtoisParseError(l.no, 'missing shift id');
    if (typeIndex.has(id)) throw new CurtoisParseError(l.no, `shift ${id} defined twice`);
    typeIndex.set(id, typeIndex.size);
  });
  const typeOf = (l: Line, id: string | undefined): number => {
    const t = id === undefined ? undefined : typeIndex.get(id);
    if (t === undefined) throw new CurtoisParseError(l.no, `unknown shift type "${id ?? ''}"`);
    return t;
  };
  const shiftTypes = shiftLines.map((l) => ({
    id: l.fields[0] ?? '',
    startMinute: 0,
    durationMinutes: int(l, 1, 'shift length', 1),
    cannotFollow: (l.fields[2] ?? '')
      .split('|')
      .filter((s) => s.trim() !== '')
      .map((s) => typeOf(l, s.trim())),
  }));
  const T = shiftTypes.length;
  if (T === 0) throw new CurtoisParseError(sections.get('SECTION_SHIFTS')?.header ?? 0, 'no shift types');

  const staffLines = need('SECTION_STAFF');
  const empIndex = new Map<string, number>();
  const employees: EmployeeSpec[] = staffLines.map((l) => {
    const id = l.fields[0] ?? '';
    if (id === '') throw new CurtoisParseError(l.no, 'missing employee id');
    if (empIndex.has(id)) throw new CurtoisParseError(l.no, `employee ${id} defined twice`);
    if (l.fields.length < 8) throw new CurtoisParseError(l.no, `staff line needs 8 fields, got ${l.fields.length}`);
    empIndex.set(id, empIndex.size);
    // A type missing from MaxShifts is unlimited.
    const maxShiftsPerType = new Array<number>(T).fill(days);
    for (const part of (l.fields[1] ?? '').split('|')) {
      if (part.trim() === '') continue;
      const m = /^\s*([^=\s]+)\s*=\s*(\d+)\s*$/.exec(part);
      if (!m) throw new CurtoisParseError(l.no, `MaxShifts entry must look like ID=N, got "${part}"`);
      maxShiftsPerType[typeOf(l, m[1])] = Number(m[2]);
    }
    return {
      id,
      allowed: Array.from({ length: days }, () => maxShiftsPerType.map((cap) => cap > 0)),
      maxShiftsPerType,
      maxTotalMinutes: int(l, 2, 'MaxTotalMinutes'),
      minTotalMinutes: int(l, 3, 'MinTotalMinutes'),
      maxConsecutiveWorkDays: int(l, 4, 'MaxConsecutiveShifts'),
      minConsecutiveWorkDays: int(l, 5, 'MinConsecutiveShifts'),
      minConsecutiveDaysOff: int(l, 6, 'MinConsecutiveDaysOff'),
      maxWeekends: int(l, 7, 'MaxWeekends'),
      minRestMinutes: 0,
      hourlyCost: 0,
    };
  });
  const empOf = (l: Line): number => {
    const e = empIndex.get(l.fields[0] ?? '');
    if (e === undefined) throw new CurtoisParseError(l.no, `unknown employee "${l.fields[0] ?? ''}"`);
    return e;
  };
  const dayOf = (l: Line, index: number): number => {
    const d = int(l, index, 'day');
    if (d >= days) throw new CurtoisParseError(l.no, `day ${d} is outside the horizon of ${days} days`);
    return d;
  };

  for (const l of sections.get('SECTION_DAYS_OFF')?.lines ?? []) {
    const emp = employees[empOf(l)];
    for (let k = 1; k < l.fields.length; k++) {
      if (l.fields[k] === '') continue;
      const row = emp?.allowed[dayOf(l, k)];
      if (row) row.fill(false);
    }
  }

  const requests: ShiftRequest[] = [];
  for (const [name, on] of [
    ['SECTION_SHIFT_ON_REQUESTS', true],
    ['SECTION_SHIFT_OFF_REQUESTS', false],
  ] as const) {
    for (const l of sections.get(name)?.lines ?? []) {
      requests.push({ employee: empOf(l), day: dayOf(l, 1), type: typeOf(l, l.fields[2]), on, weight: int(l, 3, 'weight') });
    }
  }

  const cover = Array.from({ length: days }, () =>
    Array.from({ length: T }, () => ({ requirement: 0, weightUnder: 0, weightOver: 0 })),
  );
  for (const l of need('SECTION_COVER')) {
    const d = dayOf(l, 0);
    const t = typeOf(l, l.fields[1]);
    const row = cover[d];
    if (row)
      row[t] = { requirement: int(l, 2, 'requirement'), weightUnder: int(l, 3, 'weight for under'), weightOver: int(l, 4, 'weight for over') };
  }

  return {
    days,
    firstWeekday: 0,
    shiftTypes,
    employees,
    requests,
    cover,
    weights: { fairnessHours: 0, fairnessWeekends: 0, cost: 0 },
  };
}

/**
 * The benchmark objective, from its definition: weight of every on-request not granted + weight of
 * every off-request broken + Σ over days and shifts of WeightUnder × shortfall + WeightOver × excess.
 */
export function curtoisObjective(instance: Instance, assignment: Assignment): number {
  let total = 0;
  for (const r of instance.requests) {
    const worked = assignment[r.employee]?.[r.day] ?? null;
    const onThatShift = worked !== null && (r.type === null || worked === r.type);
    if (r.on && !onThatShift) total += r.weight;
    if (!r.on && onThatShift) total += r.weight;
  }
  for (let d = 0; d < instance.days; d++) {
    for (let t = 0; t < instance.shiftTypes.length; t++) {
      let n = 0;
      for (const row of assignment) if (row[d] === t) n++;
      const c = instance.cover[d]?.[t];
      if (!c) continue;
      if (n < c.requirement) total += c.weightUnder * (c.requirement - n);
      if (n > c.requirement) total += c.weightOver * (n - c.requirement);
    }
  }
  return total;
}
