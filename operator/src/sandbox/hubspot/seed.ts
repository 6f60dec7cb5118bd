/**
 * Seeding: fills the sandbox with records in-process, fast enough for a million contacts
 * (values are generated valid, so they go straight into the store without per-value
 * validation). `demo: true` makes them look real (names, emails, companies, phones, countries,
 * lifecycle stages) for `hubspot-operator sandbox`; otherwise values are plain and predictable
 * (contact7@example.com). Deterministic: the same counts give the same data.
 */
import { seededRandom as rng } from './random.js';
import type { ObjectStore } from './store.js';
import type { SandboxState } from './state.js';

export interface SeedOptions {
  contacts?: number;
  companies?: number;
  deals?: number;
  demo?: boolean;
  /** Spread create/modify dates over the past this many days (default 365 for demo, 0 otherwise: all "now"). */
  historyDays?: number;
}

const FIRST = ['Olivia', 'Liam', 'Emma', 'Noah', 'Ava', 'Mateo', 'Sofia', 'Lucas', 'Mia', 'Amelia', 'Hugo', 'Chloe', 'Yuki', 'Aarav', 'Fatima', 'Jonas', 'Ines', 'Kwame', 'Lena', 'Diego', 'Priya', 'Omar', 'Elena', 'Wei'];
const LAST = ['Smith', 'Johnson', 'Garcia', 'Müller', 'Rossi', 'Dubois', 'Nakamura', 'Patel', 'Kowalski', 'Silva', 'Okafor', 'Jensen', 'Novak', 'Haddad', 'Larsen', 'Moreau', 'Schmidt', 'Tanaka', 'Costa', 'Nguyen'];
const COMPANY_A = ['Acme', 'Globex', 'Initech', 'Umbrella', 'Stark', 'Wayne', 'Hooli', 'Vandelay', 'Soylent', 'Cyberdyne', 'Tyrell', 'Wonka', 'Aperture', 'Massive', 'Pied Piper', 'Northwind'];
const COMPANY_B = ['Labs', 'Industries', 'Systems', 'Analytics', 'Logistics', 'Foods', 'Health', 'Energy', 'Media', 'Robotics'];
const COUNTRIES: [name: string, dial: string][] = [['United States', '+1'], ['Germany', '+49'], ['France', '+33'], ['United Kingdom', '+44'], ['Japan', '+81'], ['Brazil', '+55'], ['India', '+91'], ['Canada', '+1'], ['Spain', '+34'], ['Netherlands', '+31'], ['Nigeria', '+234'], ['Australia', '+61']];
const CITIES = ['Boston', 'Berlin', 'Paris', 'London', 'Tokyo', 'São Paulo', 'Bengaluru', 'Toronto', 'Madrid', 'Amsterdam', 'Lagos', 'Sydney'];
const LIFECYCLE = ['subscriber', 'lead', 'lead', 'marketingqualifiedlead', 'salesqualifiedlead', 'opportunity', 'customer', 'customer', 'evangelist'];
const INDUSTRIES = ['COMPUTER_SOFTWARE', 'FINANCIAL_SERVICES', 'RETAIL', 'HOSPITAL_HEALTH_CARE', 'LOGISTICS_AND_SUPPLY_CHAIN', 'INTERNET', 'MARKETING_AND_ADVERTISING', 'AUTOMOTIVE'];
const STAGES = ['appointmentscheduled', 'qualifiedtobuy', 'presentationscheduled', 'decisionmakerboughtin', 'contractsent', 'closedwon', 'closedlost'];

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

function slug(s: string): string {
  return s.toLowerCase().normalize('NFD').replace(/[\u0300-\u036f]/g, '').replace(/[^a-z0-9]+/g, '');
}

/**
 * Stores a copy of a built string as one flat string: template literals produce rope
 * ("cons") strings that keep every piece alive, which costs ~100 bytes per value at a million
 * records.
 */
function flat(s: string): string {
  return s.length < 13 ? s : (JSON.parse(JSON.stringify(s)) as string);
}

/** One shared instance per repeated value (company names, cities...): bounded, so unique values just pass. */
const interned = new Map<string, string>();
function intern(s: string): string {
  const hit = interned.get(s);
  if (hit !== undefined) return hit;
  const copy = flat(s);
  if (interned.size < 10_000) interned.set(copy, copy);
  return copy;
}

const UNIQUE_ISH = new Set(['email', 'phone', 'domain', 'name', 'dealname']);

function setter(store: ObjectStore): (values: (string | undefined)[], name: string, value: string) => void {
  const cols = new Map(store.props.list().map((d) => [d.name, d.column]));
  return (values, name, value) => {
    const c = cols.get(name);
    if (c !== undefined && c >= 0) values[c] = UNIQUE_ISH.has(name) ? flat(value) : intern(value);
  };
}

/** Seeds records; returns the ids created per object type. */
export function seedRecords(state: SandboxState, opts: SeedOptions): { contacts: number; companies: number; deals: number } {
  const r = rng(42 + (state.types.resolve('contacts')!.liveCount));
  const demo = opts.demo === true;
  const historyMs = (opts.historyDays ?? (demo ? 365 : 0)) * 86_400_000;
  const now = Date.now();
  const companyNames: string[] = [];
  const counts = { contacts: 0, companies: 0, deals: 0 };

  const insertAll = (store: ObjectStore, n: number, fill: (values: (string | undefined)[], i: number) => void) => {
    // Timestamps ascend with the id, ending now, so the sorted indexes only append.
    const step = n > 0 ? historyMs / n : 0;
    for (let i = 0; i < n; i++) {
      const values: (string | undefined)[] = [];
      fill(values, i);
      const at = Math.floor(now - historyMs + i * step);
      store.insert(state.types.allocateId(), values, at, at);
    }
  };

  const companies = state.types.resolve('companies')!;
  const setCo = setter(companies);
  insertAll(companies, opts.companies ?? 0, (v, i) => {
    const name = demo ? `${pick(r, COMPANY_A)} ${pick(r, COMPANY_B)}${i >= COMPANY_A.length * COMPANY_B.length ? ` ${i}` : ''}` : `Company ${i + 1}`;
    companyNames.push(name);
    const [country, dial] = pick(r, COUNTRIES);
    setCo(v, 'name', name);
    setCo(v, 'domain', `${slug(name)}.example.com`);
    if (demo) {
      setCo(v, 'country', country);
      setCo(v, 'city', pick(r, CITIES));
      setCo(v, 'phone', `${dial} ${100 + Math.floor(r() * 900)} ${1000000 + Math.floor(r() * 9000000)}`);
      setCo(v, 'industry', pick(r, INDUSTRIES));
      setCo(v, 'numberofemployees', String(5 + Math.floor(r() * 5000)));
    }
    counts.companies++;
  });

  const contacts = state.types.resolve('contacts')!;
  const setC = setter(contacts);
  const base = contacts.liveCount;
  insertAll(contacts, opts.contacts ?? 0, (v, i) => {
    const n = base + i + 1;
    if (demo) {
      const first = pick(r, FIRST);
      const last = pick(r, LAST);
      const company = companyNames.length > 0 ? companyNames[i % companyNames.length]! : `${pick(r, COMPANY_A)} ${pick(r, COMPANY_B)}`;
      const [country, dial] = pick(r, COUNTRIES);
      setC(v, 'email', `${slug(first)}.${slug(last)}${n}@${slug(company)}.example.com`);
      setC(v, 'firstname', first);
      setC(v, 'lastname', last);
      setC(v, 'company', company);
      setC(v, 'phone', `${dial} ${100 + Math.floor(r() * 900)} ${1000000 + Math.floor(r() * 9000000)}`);
      setC(v, 'country', country);
      setC(v, 'city', pick(r, CITIES));
      setC(v, 'lifecyclestage', pick(r, LIFECYCLE));
    } else {
      setC(v, 'email', `contact${n}@example.com`);
      setC(v, 'firstname', `First${n}`);
      setC(v, 'lastname', `Last${n}`);
      setC(v, 'lifecyclestage', 'lead');
    }
    counts.contacts++;
  });

  const deals = state.types.resolve('deals')!;
  const setD = setter(deals);
  insertAll(deals, opts.deals ?? 0, (v, i) => {
    setD(v, 'dealname', demo ? `${companyNames[i % Math.max(1, companyNames.length)] ?? 'New'} — ${pick(r, ['Renewal', 'Expansion', 'Pilot', 'Enterprise plan', 'Onboarding'])}` : `Deal ${i + 1}`);
    setD(v, 'amount', String(demo ? Math.round(r() * 100_000) : (i + 1) * 100));
    setD(v, 'dealstage', demo ? pick(r, STAGES) : 'appointmentscheduled');
    setD(v, 'pipeline', 'default');
    counts.deals++;
  });

  // Demo data links contacts and deals to companies when small enough to be browsed.
  if (demo && counts.companies > 0 && counts.contacts + counts.deals <= 50_000) {
    const companyIds = [...companies.scanById(0, false)].map((c) => c.id).slice(-counts.companies);
    const contactIds = [...contacts.scanById(0, false)].map((c) => c.id).slice(-counts.contacts);
    const dealIds = [...deals.scanById(0, false)].map((c) => c.id).slice(-counts.deals);
    contactIds.forEach((id, i) => state.associations.associate(contacts, id, companies, companyIds[i % companyIds.length]!, [1]));
    dealIds.forEach((id, i) => state.associations.associate(deals, id, companies, companyIds[i % companyIds.length]!, [5]));
  }
  return counts;
}
