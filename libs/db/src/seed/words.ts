// Word lists for names; a few non-ASCII and apostrophe names keep search and escaping honest.
export const FIRST_NAMES = [
  'Ada', 'Alan', 'Amara', 'Ana', 'Anders', 'Aoife', 'Arjun', 'Beatriz', 'Ben', 'Chen', 'Chloé', 'Daniel', 'Dmitri',
  'Elena', 'Emeka', 'Emma', 'Fatima', 'Felix', 'Freya', 'Grace', 'Hana', 'Hugo', 'Ines', 'Ivan', 'Jamal', 'Jana',
  'Jonas', 'Julia', 'Kai', 'Kenji', 'Lars', 'Layla', 'Leo', 'Lina', 'Luca', 'Maria', 'Mateo', 'Maya', 'Mei', 'Mohammed',
  'Nadia', 'Niamh', 'Noah', 'Olga', 'Omar', 'Priya', 'Rafael', 'Rosa', 'Sam', 'Sara', 'Sofia', 'Søren', 'Tariq',
  'Thomas', 'Uma', 'Victor', 'Wei', 'Yara', 'Yusuf', 'Zoë',
] as const;

export const LAST_NAMES = [
  'Abbott', 'Adeyemi', 'Andersen', 'Bauer', 'Becker', 'Bianchi', 'Brown', 'Castillo', 'Chen', 'Costa', 'Da Silva',
  'Dubois', 'Evans', 'Fischer', 'García', 'Gonzalez', 'Hansen', 'Hughes', 'Ibrahim', 'Ivanova', 'Jensen', 'Kim',
  'Kowalski', 'Kumar', 'Larsen', 'Lee', 'Lopez', 'Martin', 'Müller', 'Nakamura', 'Nguyen', 'Novak', "O'Brien",
  'Okafor', 'Olsen', 'Patel', 'Petrov', 'Quinn', 'Rossi', 'Sato', 'Schmidt', 'Silva', 'Singh', 'Smith', 'Tanaka',
  'Taylor', 'Van der Berg', 'Wagner', 'Walsh', 'Wang', 'Weber', 'Williams', 'Wójcik', 'Yamamoto', 'Zhang',
] as const;

export const REGIONS = ['North', 'South', 'East', 'West', 'Central', 'Coastal', 'Highlands', 'Metro', 'Valley', 'Lakes', 'Islands', 'Plains'] as const;

export const CITIES = [
  'Riverside', 'Oakham', 'Brookfield', 'Kingsbridge', 'Ashford', 'Millbrook', 'Harbourview', 'Elmstead', 'Stonegate',
  'Westfield', 'Northgate', 'Fairhaven', 'Greenwich', 'Lakeside', 'Pinecrest', 'Redhill', 'Silverton', 'Thornbury',
  'Wexford', 'Yarrow', 'Cedar Falls', 'Bayport', 'Hillcrest', 'Marston',
] as const;

export const SITE_KINDS = ['Hospital', 'Clinic', 'Distribution Centre', 'Store', 'Care Home', 'Depot'] as const;

export const UNIT_KINDS = [
  'Emergency', 'Ward A', 'Ward B', 'Intensive Care', 'Maternity', 'Logistics', 'Front Desk', 'Kitchen', 'Security',
  'Pharmacy', 'Radiology', 'Cleaning', 'Dispatch', 'Inbound', 'Outbound', 'Customer Service',
] as const;

/** Time zones per region, in region order (repeats when there are more regions). */
export const TIME_ZONES = [
  'Europe/London', 'Europe/Berlin', 'America/New_York', 'America/Chicago', 'America/Los_Angeles', 'Asia/Tokyo',
  'Australia/Sydney', 'Europe/Paris', 'Asia/Kolkata', 'America/Sao_Paulo', 'Africa/Johannesburg', 'Pacific/Auckland',
] as const;

export const SKILLS = [
  'first-aid', 'night-cert', 'forklift', 'triage', 'pharmacy', 'supervisor', 'bilingual', 'driving', 'hygiene', 'it-support',
] as const;

export const MOVE_REASONS = ['transfer', 'restructuring', 'promotion', 'staffing needs', 'employee request'] as const;
export const TIME_OFF_REASONS = ['holiday', 'family', 'medical', 'training', 'moving house', null] as const;

export function asciiSlug(s: string): string {
  return s.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').replace(/ø/g, 'o').replace(/ł/g, 'l')
    .toLowerCase().replace(/[^a-z0-9]+/g, '');
}
