/**
 * Associations (DESIGN §2.7, issue 11) through the engine, against the HubSpot API sandbox and a
 * real PostgreSQL: contact → company as a foreign-key column (HubSpot's primary association),
 * deal → contacts as a link table, both ways.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { SyncedObjectSpec } from '../../../operator/src/api/types.js';
import { syncDbKinds } from '../../helpers/db.js';
import { ASSOCIATION_SWEEP_BOUND } from '../../../operator/src/sync/associations.js';
import { CONTACTS_DDL, Harness, type HarnessOptions } from './harness.js';

const kinds = await syncDbKinds();

const DDL = [
  `CREATE TABLE {schema}.companies (id bigserial PRIMARY KEY, name text, domain text, phone text, city text, country text, industry text)`,
  CONTACTS_DDL,
  `ALTER TABLE {schema}.contacts ADD COLUMN company_id bigint REFERENCES {schema}.companies (id)`,
  `CREATE TABLE {schema}.deals (id bigserial PRIMARY KEY, dealname text, amount numeric, dealstage text, pipeline text, closedate date)`,
  `CREATE TABLE {schema}.deal_contacts (deal_id bigint NOT NULL REFERENCES {schema}.deals (id) ON DELETE CASCADE, contact_id bigint NOT NULL REFERENCES {schema}.contacts (id) ON DELETE CASCADE, PRIMARY KEY (deal_id, contact_id))`,
];

function objects(over: { contacts?: Partial<SyncedObjectSpec>; companies?: Partial<SyncedObjectSpec>; deals?: Partial<SyncedObjectSpec> } = {}): Partial<SyncedObjectSpec>[] {
  return [
    { type: 'contacts', table: 'contacts', associations: [{ to: 'companies', column: 'company_id' }], ...over.contacts },
    { type: 'companies', table: 'companies', match: { property: 'domain', column: 'domain' }, ...over.companies },
    { type: 'deals', table: 'deals', match: undefined, associations: [{ to: 'contacts', table: 'deal_contacts' }], ...over.deals },
  ];
}

const PRIMARY_CONTACT_COMPANY = 1;

describe.each(kinds)('associations (%s)', (dbKind) => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  async function start(opts: Partial<HarnessOptions> = {}): Promise<Harness> {
    h = await Harness.start({ dbKind, ddl: DDL, objects: objects(), ...opts });
    return h;
  }

  async function associate(from: string, to: string, fromId: string, toId: string, typeId?: number): Promise<void> {
    if (typeId === undefined) await h!.hs.call('POST', `/crm/v4/associations/${from}/${to}/batch/associate/default`, { inputs: [{ from: { id: fromId }, to: { id: toId } }] });
    else await h!.hs.call('POST', `/crm/v4/associations/${from}/${to}/batch/create`, { inputs: [{ from: { id: fromId }, to: { id: toId }, types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: typeId }] }] });
  }
  async function dissociate(from: string, to: string, fromId: string, toId: string): Promise<void> {
    await h!.hs.call('POST', `/crm/v4/associations/${from}/${to}/batch/archive`, { inputs: [{ from: { id: fromId }, to: [{ id: toId }] }] });
  }
  /** HubSpot's associations of one record: toId → type IDs. */
  async function assocs(from: string, to: string, id: string): Promise<Record<string, number[]>> {
    const r = await h!.hs.call('POST', `/crm/v4/associations/${from}/${to}/batch/read`, { inputs: [{ id }] });
    const out: Record<string, number[]> = {};
    for (const x of r.results?.[0]?.to ?? []) out[String(x.toObjectId)] = x.associationTypes.map((t: { typeId: number }) => t.typeId).sort((a: number, b: number) => a - b);
    return out;
  }
  async function rowId(table: string, where: string, params: unknown[]): Promise<string> {
    const [r] = await h!.rows<{ id: string }>(`SELECT id::text AS id FROM {schema}.${table} WHERE ${where}`, params);
    if (!r) throw new Error(`no ${table} row where ${where}`);
    return String(r.id);
  }
  async function hsId(type: string, key: string): Promise<string> {
    const [r] = await h!.rows<{ hubspot_id: string }>(`SELECT hubspot_id FROM {state}.links WHERE integration_uid = $1 AND object_type = $2 AND target_key = $3`, [h!.cfg.uid, type, key]);
    if (!r) throw new Error(`${type} row ${key} is not linked`);
    return r.hubspot_id;
  }
  async function count(table: string): Promise<number> {
    return Number((await h!.rows<{ n: unknown }>(`SELECT count(*) AS n FROM {schema}.${table}`))[0]!.n);
  }
  /** A company and a contact pointing at it, in one transaction (PostgreSQL: one statement). */
  async function insertCompanyWithContact(name: string, domain: string, email: string): Promise<void> {
    if (dbKind === 'mysql') {
      await h!.exec(`INSERT INTO {schema}.companies (name, domain) VALUES ($1, $2)`, [name, domain]);
      await h!.exec(`INSERT INTO {schema}.contacts (email, company_id) SELECT $1, id FROM {schema}.companies WHERE domain = $2`, [email, domain]);
      return;
    }
    await h!.exec(`WITH c AS (INSERT INTO {schema}.companies (name, domain) VALUES ($1, $2) RETURNING id)
                   INSERT INTO {schema}.contacts (email, company_id) SELECT $3, id FROM c`, [name, domain, email]);
  }

  it('HubSpot associations arrive as the FK column (primary company) and as link-table rows, with status counts and audit', async () => {
    await start();
    const acme = await h!.hs.create('companies', { name: 'Acme', domain: 'acme.com' });
    const globex = await h!.hs.create('companies', { name: 'Globex', domain: 'globex.com' });
    const alice = await h!.hs.create('contacts', { email: 'alice@acme.com', firstname: 'Alice' });
    const bob = await h!.hs.create('contacts', { email: 'bob@acme.com', firstname: 'Bob' });
    const deal = await h!.hs.create('deals', { dealname: 'Big deal' });
    // Alice: unlabeled with Globex, primary with Acme → the FK is the primary one.
    await associate('contacts', 'companies', alice.id, globex.id);
    await associate('contacts', 'companies', alice.id, acme.id, PRIMARY_CONTACT_COMPANY);
    await associate('deals', 'contacts', deal.id, alice.id);
    await associate('deals', 'contacts', deal.id, bob.id);

    const r = await h!.cycle('initial');
    const joined = await h!.rows(`SELECT c.email, co.name FROM {schema}.contacts c LEFT JOIN {schema}.companies co ON co.id = c.company_id ORDER BY c.email`);
    expect(joined).toEqual([
      { email: 'alice@acme.com', name: 'Acme' },
      { email: 'bob@acme.com', name: null },
    ]);
    const links = await h!.rows(`SELECT d.dealname, c.email FROM {schema}.deal_contacts dc JOIN {schema}.deals d ON d.id = dc.deal_id JOIN {schema}.contacts c ON c.id = dc.contact_id ORDER BY c.email`);
    expect(links).toEqual([
      { dealname: 'Big deal', email: 'alice@acme.com' },
      { dealname: 'Big deal', email: 'bob@acme.com' },
    ]);
    expect(r.objects.find((o) => o.type === 'contacts')!.associations).toEqual({ linked: 1, pending: 0 });
    expect(r.objects.find((o) => o.type === 'deals')!.associations).toEqual({ linked: 2, pending: 0 });
    const audit = await h!.rows(`SELECT object_type, operation, outcome FROM {state}.audit_log WHERE integration_uid = $1 AND operation IN ('associate', 'dissociate') ORDER BY object_type`, [h!.cfg.uid]);
    expect(audit).toEqual([
      { object_type: 'contacts', operation: 'associate', outcome: 'ok' },
      { object_type: 'deals', operation: 'associate', outcome: 'ok' },
      { object_type: 'deals', operation: 'associate', outcome: 'ok' },
    ]);
    // At rest: nothing more to do, on either side.
    const before = await h!.hs.stats();
    await h!.cycle();
    const after = await h!.hs.stats();
    const writes = Object.entries(after.requests.byRoute).filter(([k, n]) => /associations.*(create|archive|default)/.test(k) && n !== (before.requests.byRoute[k] ?? 0));
    expect(writes).toEqual([]);
  });

  it('a company and a contact inserted in one transaction arrive associated in HubSpot; link rows inserted/deleted create/archive associations', async () => {
    const synced: string[] = [];
    await start({ observer: { recordsSynced: (type, dir, op, n) => { if (n > 0 && (op === 'associate' || op === 'dissociate')) synced.push(`${type} ${dir} ${op} ${n}`); } } });
    await insertCompanyWithContact('Initech', 'initech.com', 'peter@initech.com');
    await h!.exec(`INSERT INTO {schema}.deals (dealname) VALUES ('Printers')`);
    await h!.cycle('initial');
    const contactKey = await rowId('contacts', `email = $1`, ['peter@initech.com']);
    const companyKey = await rowId('companies', `domain = $1`, ['initech.com']);
    const dealKey = await rowId('deals', `dealname = $1`, ['Printers']);
    const contact = await hsId('contacts', contactKey);
    const company = await hsId('companies', companyKey);
    const deal = await hsId('deals', dealKey);
    // Primary (1) and, as HubSpot adds it, unlabeled (279).
    expect(await assocs('contacts', 'companies', contact)).toEqual({ [company]: [1, 279] });

    await h!.exec(`INSERT INTO {schema}.deal_contacts (deal_id, contact_id) VALUES ($1, $2)`, [dealKey, contactKey]);
    let r = await h!.cycle();
    expect(await assocs('deals', 'contacts', deal)).toEqual({ [contact]: [3] });
    expect(r.objects.find((o) => o.type === 'deals')!.associations).toEqual({ linked: 1, pending: 0 });

    await h!.exec(`DELETE FROM {schema}.deal_contacts WHERE deal_id = $1`, [dealKey]);
    r = await h!.cycle();
    expect(await assocs('deals', 'contacts', deal)).toEqual({});
    expect(r.objects.find((o) => o.type === 'deals')!.associations).toEqual({ linked: 0, pending: 0 });
    // The records themselves are untouched.
    expect((await h!.hs.get('deals', deal, ['dealname'])).properties.dealname).toBe('Printers');
    // The FK the user wrote is kept as it was through all these cycles.
    expect(await h!.rows(`SELECT co.domain FROM {schema}.contacts c JOIN {schema}.companies co ON co.id = c.company_id`)).toEqual([{ domain: 'initech.com' }]);
    expect(await assocs('contacts', 'companies', contact)).toEqual({ [company]: [1, 279] });
    // records_synced_total{operation="associate|dissociate"} is fed from these.
    expect(synced).toEqual(['contacts toHubSpot associate 1', 'deals toHubSpot associate 1', 'deals toHubSpot dissociate 1']);
  });

  it('moves a contact to another company from either side; an association-only HubSpot change reaches the table in the next incremental cycle', async () => {
    await start();
    const acme = await h!.hs.create('companies', { name: 'Acme', domain: 'acme.com' });
    const globex = await h!.hs.create('companies', { name: 'Globex', domain: 'globex.com' });
    const alice = await h!.hs.create('contacts', { email: 'alice@acme.com', firstname: 'Alice' });
    await associate('contacts', 'companies', alice.id, acme.id, PRIMARY_CONTACT_COMPANY);
    await h!.cycle('initial');
    const aliceKey = await rowId('contacts', `email = $1`, ['alice@acme.com']);
    const globexKey = await rowId('companies', `domain = $1`, ['globex.com']);
    const acmeKey = await rowId('companies', `domain = $1`, ['acme.com']);

    // Target side: UPDATE company_id → Globex becomes the primary company, Acme is dissociated.
    await h!.exec(`UPDATE {schema}.contacts SET company_id = $1 WHERE id = $2`, [globexKey, aliceKey]);
    await h!.cycle();
    expect(await assocs('contacts', 'companies', alice.id)).toEqual({ [globex.id]: [1, 279] });
    await h!.cycle();
    expect(String((await h!.rows(`SELECT company_id FROM {schema}.contacts WHERE id = $1`, [aliceKey]))[0]!.company_id)).toBe(globexKey);

    // HubSpot side, associations only (the contact's last-modified date does not move).
    const modifiedBefore = (await h!.hs.get('contacts', alice.id, ['lastmodifieddate'])).properties.lastmodifieddate;
    await associate('contacts', 'companies', alice.id, acme.id, PRIMARY_CONTACT_COMPANY);
    expect((await h!.hs.get('contacts', alice.id, ['lastmodifieddate'])).properties.lastmodifieddate).toBe(modifiedBefore);
    // The incremental search cannot see it (last-modified unchanged): the association sweep does.
    const r = await h!.cycle('incremental');
    expect(String((await h!.rows(`SELECT company_id FROM {schema}.contacts WHERE id = $1`, [aliceKey]))[0]!.company_id)).toBe(acmeKey);
    expect(r.objects.find((o) => o.type === 'contacts')!.associations).toEqual({ linked: 1, pending: 0 });

    // Removed in HubSpot (association only) → the next incremental cycle clears the FK.
    await dissociate('contacts', 'companies', alice.id, acme.id);
    await h!.cycle('incremental');
    expect((await h!.rows(`SELECT company_id FROM {schema}.contacts WHERE id = $1`, [aliceKey]))[0]!.company_id).toBeNull();
  });

  it('full reconciliation repairs link rows changed behind the operator’s back; deletes policies never apply to association removals', async () => {
    await start({ objects: objects({ deals: { deletes: { fromHubSpot: 'Propagate', fromTarget: 'Propagate' } }, contacts: { deletes: { fromHubSpot: 'Propagate', fromTarget: 'Propagate' } } }) });
    const alice = await h!.hs.create('contacts', { email: 'alice@acme.com' });
    const bob = await h!.hs.create('contacts', { email: 'bob@acme.com' });
    const deal = await h!.hs.create('deals', { dealname: 'D1' });
    await associate('deals', 'contacts', deal.id, alice.id);
    await associate('deals', 'contacts', deal.id, bob.id);
    await h!.cycle('initial');
    expect(await count('deal_contacts')).toBe(2);

    // HubSpot drops Bob (association only) → the link row goes, both rows stay.
    await dissociate('deals', 'contacts', deal.id, bob.id);
    await h!.cycle('full');
    expect(await h!.rows(`SELECT c.email FROM {schema}.deal_contacts dc JOIN {schema}.contacts c ON c.id = dc.contact_id`)).toEqual([{ email: 'alice@acme.com' }]);
    expect(await count('contacts')).toBe(2);
    expect(await count('deals')).toBe(1);

    // The table drops Alice → the association is archived, the HubSpot records stay.
    await h!.exec(`DELETE FROM {schema}.deal_contacts`);
    await h!.cycle();
    expect(await assocs('deals', 'contacts', deal.id)).toEqual({});
    expect((await h!.hs.get('deals', deal.id, ['dealname'])).properties.dealname).toBe('D1');
    expect((await h!.hs.get('contacts', alice.id, ['email'])).properties.email).toBe('alice@acme.com');
    const deletes = await h!.rows(`SELECT operation FROM {state}.audit_log WHERE integration_uid = $1 AND operation LIKE '%delete%'`, [h!.cfg.uid]);
    expect(deletes).toEqual([]);
  });

  it('an association to a company excluded by a SyncFilter is skipped and counted, not pending', async () => {
    await start({ filters: [{ name: 'no-partners', spec: { objectType: 'companies', action: 'Exclude', appliesTo: 'Both', rules: [{ property: 'domain', operator: 'Equals', value: 'partner.com' }] } }] });
    const partner = await h!.hs.create('companies', { name: 'Partner', domain: 'partner.com' });
    const alice = await h!.hs.create('contacts', { email: 'alice@partner.com' });
    await associate('contacts', 'companies', alice.id, partner.id, PRIMARY_CONTACT_COMPANY);
    const r = await h!.cycle('initial');
    expect(await h!.rows(`SELECT company_id FROM {schema}.contacts`)).toEqual([{ company_id: null }]);
    expect(r.objects.find((o) => o.type === 'contacts')!.associations).toEqual({ linked: 0, pending: 0 });
    const skipped = await h!.rows(`SELECT operation, outcome, message FROM {state}.audit_log WHERE integration_uid = $1 AND outcome = 'skipped'`, [h!.cfg.uid]);
    expect(skipped).toEqual([{ operation: 'associate', outcome: 'skipped', message: expect.stringMatching(/excluded by a SyncFilter/) }]);
    expect(await h!.errors()).toEqual([]);
  });

  it('a FK to a row that is not linked waits as pending, becomes a NotFound error after a full reconciliation, and resolves once the row links', async () => {
    await start({ objects: objects({ companies: { create: { inHubSpot: false, inTarget: true } } }) });
    await insertCompanyWithContact('Hooli', 'hooli.com', 'gavin@hooli.com');
    let r = await h!.cycle('initial');
    const contactKey = await rowId('contacts', `email = $1`, ['gavin@hooli.com']);
    const companyKey = await rowId('companies', `domain = $1`, ['hooli.com']);
    const contact = await hsId('contacts', contactKey);
    expect(r.objects.find((o) => o.type === 'contacts')!.associations).toEqual({ linked: 0, pending: 1 });
    expect(await assocs('contacts', 'companies', contact)).toEqual({});
    expect(await h!.errors()).toEqual([]);

    r = await h!.cycle('full');
    expect(await h!.errors()).toEqual([
      expect.objectContaining({ category: 'NotFound', target_key: contactKey, message: `spec.objects[0].associations[0]: contacts row ${contactKey} points at companies row ${companyKey}, which is not linked to a HubSpot companies record` }),
    ]);

    // The company appears in HubSpot: the companies pass links the row by domain, the association follows in the same cycle.
    const hooli = await h!.hs.create('companies', { name: 'Hooli', domain: 'hooli.com' });
    r = await h!.cycle();
    expect(await assocs('contacts', 'companies', contact)).toEqual({ [hooli.id]: [1, 279] });
    expect(r.objects.find((o) => o.type === 'contacts')!.associations).toEqual({ linked: 1, pending: 0 });
    await h!.cycle();
    expect(String((await h!.rows(`SELECT company_id FROM {schema}.contacts WHERE id = $1`, [contactKey]))[0]!.company_id)).toBe(companyKey);
    // The NotFound error went with the pending association.
    expect(await h!.errors()).toEqual([]);
  });

  it('rejects bad association specs as InvalidSpec naming the field', async () => {
    await start({ objects: objects({ contacts: { associations: [{ to: 'companies', column: 'company_ref' }] } }) });
    let issues = await h!.engine.validate();
    expect(issues.map((i) => `${i.field}: ${i.message}`)).toEqual([expect.stringMatching(/^spec\.objects\[0\]\.associations\[0\]\.column: column "company_ref" does not exist in table contacts/)]);

    await h!.exec(`ALTER TABLE {schema}.contacts ADD COLUMN company_ref text`);
    await h!.restart();
    issues = await h!.engine.validate();
    expect(issues.map((i) => `${i.field}: ${i.message}`)).toEqual([expect.stringMatching(/^spec\.objects\[0\]\.associations\[0\]\.column: column contacts\.company_ref is text, but it must hold keys of companies/)]);

    h!.cfg.spec.objects[2]!.associations = [{ to: 'contacts', table: 'deal_people' }];
    h!.cfg.spec.objects[0]!.associations = [];
    await h!.restart();
    issues = await h!.engine.validate();
    expect(issues.map((i) => i.field)).toEqual(['spec.objects[2].associations[0].table']);
    const r = await h!.cycle('initial', { allowFailure: true });
    expect(r.systemic).toMatchObject({ category: 'Validation', reason: 'InvalidSpec', message: expect.stringMatching(/associations\[0\]\.table: link table "deal_people" does not exist/) });
  });

  it('createTables creates the FK column and the link table with foreign keys to both tables', async () => {
    await start({ ddl: [], createTables: true });
    const acme = await h!.hs.create('companies', { name: 'Acme', domain: 'acme.com' });
    const alice = await h!.hs.create('contacts', { email: 'alice@acme.com' });
    const deal = await h!.hs.create('deals', { dealname: 'D' });
    await associate('contacts', 'companies', alice.id, acme.id, PRIMARY_CONTACT_COMPANY);
    await associate('deals', 'contacts', deal.id, alice.id);
    await h!.cycle('initial');
    expect(await h!.rows(`SELECT c.email, co.name FROM {schema}.contacts c JOIN {schema}.companies co ON co.id = c.company_id`)).toEqual([{ email: 'alice@acme.com', name: 'Acme' }]);
    expect(await count('deal_contacts')).toBe(1);
    const fks = dbKind === 'mysql'
      ? await h!.rows<{ table: string }>(`SELECT REFERENCED_TABLE_NAME AS "table" FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = $1 AND TABLE_NAME = 'deal_contacts' AND REFERENCED_TABLE_NAME IS NOT NULL ORDER BY 1`, [h!.db.schema])
      : await h!.rows<{ table: string }>(
      `SELECT ccu.table_name AS table FROM information_schema.table_constraints tc
         JOIN information_schema.constraint_column_usage ccu ON ccu.constraint_name = tc.constraint_name AND ccu.constraint_schema = tc.constraint_schema
        WHERE tc.table_schema = $1 AND tc.table_name = 'deal_contacts' AND tc.constraint_type = 'FOREIGN KEY' ORDER BY 1`,
      [h!.db.schema],
    );
    expect(fks.map((f) => f.table)).toEqual(['contacts', 'deals']);
  });

  it('costs one association read per 1,000 pulled records (initial import and incremental cycle)', async () => {
    // Demo seed data: every contact gets a primary company.
    await start({ seed: { contacts: 1500, companies: 100, demo: true } as HarnessOptions['seed'], lookbackMs: 1 });
    const reads = async () => {
      const st = await h!.hs.stats();
      return Object.entries(st.requests.byRoute).filter(([k]) => k.includes('/crm/v4/associations/') && k.includes('batch/read')).reduce((n, [, v]) => n + v, 0);
    };
    const r0 = await reads();
    const r = await h!.cycle('initial');
    const initialReads = (await reads()) - r0;
    // Every seeded contact has a primary company.
    expect(await h!.rows(`SELECT count(*) AS n FROM {schema}.contacts c JOIN {schema}.companies co ON co.id = c.company_id`).then((x) => Number(x[0]!.n))).toBe(1500);
    expect(r.objects.find((o) => o.type === 'contacts')!.associations).toEqual({ linked: 1500, pending: 0 });
    expect(initialReads).toBe(2); // ceil(1500 / 1000)

    const ids = (await h!.hs.listAll('contacts', ['email'])).slice(0, 150).map((x) => x.id);
    for (const part of [ids.slice(0, 100), ids.slice(100)]) await h!.hs.call('POST', '/crm/v3/objects/contacts/batch/update', { inputs: part.map((id) => ({ id, properties: { firstname: 'Changed' } })) });
    const r1 = await reads();
    const inc = await h!.cycle();
    expect(inc.objects.find((o) => o.type === 'contacts')!.lastCycle.toTarget.updated).toBe(150);
    // The association sweep (ASSOCIATION_SWEEP_BOUND = 10,000 rows): all 1,500 contacts, the 150 pulled among them.
    expect((await reads()) - r1).toBe(2); // ceil(1500 / 1000); the empty deals table costs none

    // An idle cycle costs the same sweep, and an association-only change in it arrives.
    const [someone] = (await h!.hs.listAll('contacts', ['email'])).slice(-1);
    const [other] = await h!.rows<{ id: string }>(`SELECT id::text AS id FROM {schema}.companies ORDER BY id DESC LIMIT 1`);
    await associate('contacts', 'companies', someone!.id, await hsId('companies', String(other!.id)), PRIMARY_CONTACT_COMPANY);
    const r2 = await reads();
    await h!.cycle();
    expect((await reads()) - r2).toBe(2);
    const key = (await h!.rows<{ target_key: string }>(`SELECT target_key FROM {state}.links WHERE integration_uid = $1 AND object_type = 'contacts' AND hubspot_id = $2`, [h!.cfg.uid, someone!.id]))[0]!.target_key;
    expect(String((await h!.rows(`SELECT company_id FROM {schema}.contacts WHERE id = $1`, [key]))[0]!.company_id)).toBe(String(other!.id));
  });

  it('above ASSOCIATION_SWEEP_BOUND rows the sweep rotates: an association-only change arrives within ceil(rows / bound) incremental cycles', async () => {
    const n = ASSOCIATION_SWEEP_BOUND + 500;
    await start({ seed: { contacts: n, companies: 10, demo: true } as HarnessOptions['seed'], lookbackMs: 1 });
    const reads = async () => {
      const st = await h!.hs.stats();
      return Object.entries(st.requests.byRoute).filter(([k]) => k.includes('/crm/v4/associations/') && k.includes('batch/read')).reduce((x, [, v]) => x + v, 0);
    };
    await h!.cycle('initial'); // the initial pass's sweep took the first 10,000 rows: the next slice is the last 500
    // An association-only change on the first contact row (first slice).
    const [first] = await h!.rows<{ id: string; company_id: unknown }>(`SELECT id::text AS id, company_id FROM {schema}.contacts ORDER BY id LIMIT 1`);
    const [other] = await h!.rows<{ id: string }>(`SELECT id::text AS id FROM {schema}.companies WHERE id <> $1 ORDER BY id LIMIT 1`, [first!.company_id]);
    const otherKey = String(other!.id);
    await associate('contacts', 'companies', await hsId('contacts', String(first!.id)), await hsId('companies', otherKey), PRIMARY_CONTACT_COMPANY);
    const fk = async () => String((await h!.rows(`SELECT company_id FROM {schema}.contacts WHERE id = $1`, [first!.id]))[0]!.company_id);
    let r0 = await reads();
    await h!.cycle(); // the slice of the last 500 rows
    expect((await reads()) - r0).toBe(1);
    expect(await fk()).not.toBe(otherKey);
    r0 = await reads();
    await h!.cycle(); // the first 10,000 rows again: 10 reads, the change arrives (2 = ceil(10,500 / 10,000) cycles)
    expect((await reads()) - r0).toBe(10);
    expect(await fk()).toBe(otherKey);
  }, 120_000);

  it('a labelled link table keeps only the associations with that label, and creates them with it', async () => {
    await start({ objects: objects({ deals: { associations: [{ to: 'contacts', table: 'deal_contacts', label: 'Decision maker' }] } }) });
    const created = await h!.hs.call('POST', '/crm/v4/associations/deals/contacts/labels', { label: 'Decision maker', name: 'decision_maker' });
    const typeId = Number((created.results as { typeId: number; label: string }[]).find((t) => t.label === 'Decision maker')!.typeId);
    const alice = await h!.hs.create('contacts', { email: 'alice@acme.com' });
    const bob = await h!.hs.create('contacts', { email: 'bob@acme.com' });
    const carol = await h!.hs.create('contacts', { email: 'carol@acme.com' });
    const deal = await h!.hs.create('deals', { dealname: 'D' });
    await h!.hs.call('POST', '/crm/v4/associations/deals/contacts/batch/create', { inputs: [{ from: { id: deal.id }, to: { id: alice.id }, types: [{ associationCategory: 'USER_DEFINED', associationTypeId: typeId }] }] });
    await associate('deals', 'contacts', deal.id, bob.id); // unlabeled: not kept
    await h!.cycle('initial');
    expect(await h!.rows(`SELECT c.email FROM {schema}.deal_contacts dc JOIN {schema}.contacts c ON c.id = dc.contact_id`)).toEqual([{ email: 'alice@acme.com' }]);

    const dealKey = await rowId('deals', `dealname = $1`, ['D']);
    const carolKey = await rowId('contacts', `email = $1`, ['carol@acme.com']);
    await h!.exec(`INSERT INTO {schema}.deal_contacts (deal_id, contact_id) VALUES ($1, $2)`, [dealKey, carolKey]);
    await h!.cycle();
    expect((await assocs('deals', 'contacts', deal.id))[carol.id]).toContain(typeId);
    // Bob's unlabeled association is left alone.
    expect(await assocs('deals', 'contacts', deal.id)).toMatchObject({ [bob.id]: [3] });
  });
});
