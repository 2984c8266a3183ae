/**
 * fast-check arbitraries derived from a route's JSON Schema (as produced by z.toJSONSchema), so
 * fuzzing reaches handler logic with mostly valid inputs, with garbage mixed in.
 */
import fc from 'fast-check';

type Schema = {
  type?: string | string[]; enum?: unknown[]; const?: unknown; format?: string; pattern?: string;
  minimum?: number; maximum?: number; exclusiveMinimum?: number; exclusiveMaximum?: number;
  minLength?: number; maxLength?: number; minItems?: number; maxItems?: number;
  properties?: Record<string, Schema>; required?: string[]; items?: Schema;
  anyOf?: Schema[]; oneOf?: Schema[]; allOf?: Schema[]; default?: unknown;
};

export const garbage: fc.Arbitrary<unknown> = fc.oneof(
  fc.string({ maxLength: 20 }), fc.integer(), fc.double(), fc.boolean(), fc.constant(null),
  fc.constantFrom('', '0', '-1', '9223372036854775808', '2026-02-30', 'a'.repeat(300), '😀', '\u0000', {}, []),
);

export function fromSchema(s: Schema, ids: fc.Arbitrary<string>, depth = 0): fc.Arbitrary<unknown> {
  const valid = validFrom(s, ids, depth);
  return fc.oneof({ weight: 9, arbitrary: valid }, { weight: 1, arbitrary: garbage });
}

function validFrom(s: Schema, ids: fc.Arbitrary<string>, depth: number): fc.Arbitrary<unknown> {
  const variants = s.anyOf ?? s.oneOf;
  if (variants?.length) return fc.oneof(...variants.map((v) => validFrom(v, ids, depth)));
  if (s.allOf?.[0]) return validFrom(s.allOf[0], ids, depth);
  if (s.const !== undefined) return fc.constant(s.const);
  if (s.enum?.length) return fc.constantFrom(...s.enum);
  const type = Array.isArray(s.type) ? s.type[0] : s.type;
  switch (type) {
    case 'null': return fc.constant(null);
    case 'boolean': return fc.boolean();
    case 'integer':
    case 'number': {
      const min = s.minimum ?? (s.exclusiveMinimum !== undefined ? s.exclusiveMinimum + 1 : -5);
      const max = s.maximum ?? (s.exclusiveMaximum !== undefined ? s.exclusiveMaximum - 1 : Math.max(min + 100, 100));
      return fc.integer({ min: Math.ceil(Math.max(min, -1e6)), max: Math.floor(Math.min(max, 1e6)) });
    }
    case 'string': {
      if (s.format === 'date') return fc.date({ min: new Date('2025-01-01'), max: new Date('2027-12-31'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10));
      if (s.format === 'date-time') return fc.date({ min: new Date('2025-01-01'), max: new Date('2027-12-31'), noInvalidDate: true }).map((d) => d.toISOString());
      if (s.format === 'email') return fc.emailAddress();
      if (s.pattern && /\\d|0-9/.test(s.pattern) && /\{0,18\}|\{1,19\}|\+/.test(s.pattern)) return ids;
      if (s.pattern && /\^\(\?:?\[01\]|\[0-2\]|:\[0-5\]/.test(s.pattern)) return fc.constantFrom('00:00', '06:00', '08:00', '14:00', '22:00', '23:59');
      return fc.string({ minLength: s.minLength ?? 0, maxLength: Math.min(s.maxLength ?? 30, 30) });
    }
    case 'array': {
      if (depth > 3) return fc.constant([]);
      return fc.array(validFrom(s.items ?? {}, ids, depth + 1), { minLength: s.minItems ?? 0, maxLength: Math.min(s.maxItems ?? 4, 4) });
    }
    case 'object': {
      if (depth > 3 || !s.properties) return fc.constant({});
      const entries = Object.entries(s.properties);
      const required = new Set(s.required ?? []);
      const record: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [k, v] of entries) record[k] = fromSchema(v, ids, depth + 1);
      return fc.record(record, { requiredKeys: [...required].filter((k) => k in record) });
    }
    default:
      return garbage;
  }
}
