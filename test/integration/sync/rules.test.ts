/**
 * Field rules end to end: every transform and its inverse, filters (include/exclude, both
 * directions, push-down), typed columns, createTables / createMissingProperties, validate(),
 * and SQL identifiers that cannot inject.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { availableDbKinds, syncDbKinds } from '../../helpers/db.js';
import { Harness } from './harness.js';

// PostgreSQL when available, else PGlite (the core flows run on both in the other files), and MySQL.
const kinds = [...(await availableDbKinds()).slice(0, 1), ...(await syncDbKinds()).filter((k) => k === 'mysql')];

/** Where the databases' own types show through: numeric text and the types createTables picks. */
const DIALECT = {
  postgres: { weights: ['2', '1.50'], amount: '1234.50', types: { amount: 'numeric', dealname: 'text', dealname_note: 'text', id: 'bigint' }, datetime: ['timestamp with time zone', 'date'] },
  mysql: { weights: ['2.00', '1.50'], amount: '1234.5000000000', types: { amount: 'decimal', dealname: 'text', dealname_note: 'text', id: 'bigint' }, datetime: ['datetime', 'date'] },
};
const dialect = (kind: string) => (kind === 'mysql' ? DIALECT.mysql : DIALECT.postgres);

describe.each(kinds)('rules (%s)', (dbKind) => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('applies each transform towards the target and its inverse towards HubSpot, without churn', async () => {
    h = await Harness.start({
      dbKind,
      objects: [{ type: 'companies', table: 'companies', match: { property: 'domain', column: 'domain' } }],
      ddl: [`CREATE TABLE {schema}.companies (id bigserial PRIMARY KEY, domain text, name text, city text, industry text, country text, phone text)`],
      fieldMappings: [
        {
          name: 'companies',
          spec: {
            objectType: 'companies',
            fields: [
              { property: 'domain', column: 'domain', transform: { lowercase: true } },
              { property: 'name', column: 'name', transform: { uppercase: true } },
              { property: 'city', column: 'city', transform: { trim: true } },
              { property: 'industry', column: 'industry', transform: { valueMap: { COMPUTER_SOFTWARE: 'Software', RETAIL: 'Retail' } } },
              { property: 'country', column: 'country', transform: { countryCode: 'alpha2' } },
            ],
          },
        },
      ],
    });
    const c = await h.hs.create('companies', { domain: 'Acme.COM', name: 'Acme Inc', city: '  Berlin ', industry: 'COMPUTER_SOFTWARE', country: 'Germany' });
    await h.cycle('initial');
    expect((await h.rows(`SELECT domain, name, city, industry, country FROM {schema}.companies`))[0]).toEqual({
      domain: 'acme.com',
      name: 'ACME INC',
      city: 'Berlin',
      industry: 'Software',
      country: 'DE',
    });
    // At rest nothing is written back although the values differ literally (lossy transforms).
    const rest = await h.settle();
    expect(rest.objects[0]!.lastCycle.toHubSpot.updated).toBe(0);
    // Target → HubSpot uses the inverse: valueMap inverted, the others pass through.
    await h.exec(`UPDATE {schema}.companies SET industry = 'Retail', country = 'FR', city = 'Paris'`);
    await h.settle();
    expect((await h.hs.get('companies', c.id, ['industry', 'country', 'city'])).properties).toMatchObject({ industry: 'RETAIL', country: 'FR', city: 'Paris' });
    expect((await h.rows(`SELECT industry, country FROM {schema}.companies`))[0]).toEqual({ industry: 'Retail', country: 'FR' });
  });

  it('syncs only records that pass the filters, each way; a record that stops matching stops syncing and is kept', async () => {
    h = await Harness.start({
      dbKind,
      filters: [
        { name: 'acme', spec: { objectType: 'contacts', action: 'Include', appliesTo: 'Both', rules: [{ property: 'email', operator: 'EndsWith', value: '@acme.com' }] } },
        { name: 'no-subscribers', spec: { objectType: 'contacts', action: 'Exclude', appliesTo: 'HubSpotToTarget', rules: [{ property: 'lifecyclestage', operator: 'In', values: ['subscriber'] }] } },
      ],
    });
    const kept = await h.hs.create('contacts', { email: 'kept@acme.com', firstname: 'K', lifecyclestage: 'lead' });
    await h.hs.create('contacts', { email: 'other@globex.com', firstname: 'O', lifecyclestage: 'lead' });
    await h.hs.create('contacts', { email: 'sub@acme.com', firstname: 'S', lifecyclestage: 'subscriber' });
    await h.exec(`INSERT INTO {schema}.contacts (email, firstname, lifecyclestage) VALUES ('pushed@acme.com', 'P', 'subscriber'), ('local@globex.com', 'L', 'lead')`);
    const r = await h.cycle('initial');
    expect((await h.rows(`SELECT email FROM {schema}.contacts ORDER BY email`)).map((x) => x.email)).toEqual(['kept@acme.com', 'local@globex.com', 'pushed@acme.com']);
    // The Exclude applies HubSpot → target only, so pushed@acme.com (a subscriber) still goes to HubSpot.
    expect((await h.hs.listAll('contacts', ['email'])).map((x) => x.properties.email).sort()).toEqual(['kept@acme.com', 'other@globex.com', 'pushed@acme.com', 'sub@acme.com']);
    expect(r.objects[0]!.filterMatches).toMatchObject({ acme: expect.any(Number), 'no-subscribers': 1 });

    // Widening a filter brings the newly included records without waiting for them to change.
    h.cfg.filters = h.cfg.filters.filter((f) => f.name !== 'no-subscribers');
    await h.restart();
    await h.cycle('incremental');
    expect((await h.rows(`SELECT email FROM {schema}.contacts ORDER BY email`)).map((x) => x.email)).toContain('sub@acme.com');

    // Stops matching: no longer synced, not deleted.
    await h.hs.update('contacts', kept.id, { email: 'kept@elsewhere.com', firstname: 'Changed' });
    await h.settle();
    expect((await h.rows(`SELECT firstname FROM {schema}.contacts WHERE email = 'kept@acme.com'`))[0]!.firstname).toBe('K');
    expect((await h.rows(`SELECT count(*)::int AS n FROM {schema}.contacts WHERE email = 'kept@elsewhere.com'`))[0]!.n).toBe(0);
  });

  it('syncs a custom object type (p_<name>) both ways, linking by a unique custom property', async () => {
    h = await Harness.start({
      dbKind,
      ddl: [`CREATE TABLE {schema}.widgets (id bigserial PRIMARY KEY, sku text, color text, weight numeric)`],
      objects: [{ type: 'p_widgets', table: 'widgets', match: { property: 'sku', column: 'sku' } }],
      fieldMappings: [{ name: 'widgets', spec: { objectType: 'p_widgets', fields: [{ property: 'sku', column: 'sku' }, { property: 'color', column: 'color' }, { property: 'weight', column: 'weight' }] } }],
    });
    await h.hs.call('POST', '/crm-object-schemas/v3/schemas', {
      name: 'widgets',
      labels: { singular: 'Widget', plural: 'Widgets' },
      primaryDisplayProperty: 'sku',
      properties: [
        { name: 'sku', label: 'SKU', type: 'string', fieldType: 'text', hasUniqueValue: true },
        { name: 'color', label: 'Color', type: 'string', fieldType: 'text' },
        { name: 'weight', label: 'Weight', type: 'number', fieldType: 'number' },
      ],
    });
    await h.hs.create('p_widgets', { sku: 'W-1', color: 'red', weight: '1.50' });
    await h.exec(`INSERT INTO {schema}.widgets (sku, color, weight) VALUES ('W-2', 'blue', 2), ('w-1', NULL, NULL)`);
    await h.cycle('initial');
    await h.settle();
    const [w2, w1] = dialect(dbKind).weights;
    expect(await h.rows(`SELECT sku, color, weight::text AS weight FROM {schema}.widgets ORDER BY id`)).toEqual([
      { sku: 'W-2', color: 'blue', weight: w2 },
      { sku: 'W-1', color: 'red', weight: w1 }, // linked by the normalised key; HubSpotWins for the spelling
    ]);
    const live = await h.hs.listAll('p_widgets', ['sku', 'color', 'weight']);
    expect(live.map((x) => [x.properties.sku, x.properties.color]).sort()).toEqual([
      ['W-1', 'red'],
      ['W-2', 'blue'],
    ]);
  });

  it('creates missing tables, columns and HubSpot properties when asked, with column types from property types', async () => {
    h = await Harness.start({
      dbKind,
      ddl: [],
      createTables: true,
      objects: [{ type: 'deals', table: 'deals', match: undefined }],
      fieldMappings: [
        {
          name: 'deals',
          spec: {
            objectType: 'deals',
            createMissingProperties: true,
            fields: [
              { property: 'dealname', column: 'dealname' },
              { property: 'amount', column: 'amount' },
              { property: 'closedate', column: 'closedate' },
              { property: 'operator_note', column: 'dealname_note' },
            ],
          },
        },
      ],
    });
    await h.hs.create('deals', { dealname: 'Big one', amount: '1234.50', closedate: '2026-12-01T00:00:00.000Z' });
    await h.cycle('initial');
    const cols = await h.rows(`SELECT column_name AS column_name, data_type AS data_type FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'deals' ORDER BY column_name`, [h.db.schema]);
    expect(Object.fromEntries(cols.map((c) => [c.column_name, c.data_type]))).toMatchObject(dialect(dbKind).types);
    expect(dialect(dbKind).datetime).toContain(cols.find((c) => c.column_name === 'closedate')!.data_type);
    expect((await h.rows(`SELECT dealname, amount::text AS amount FROM {schema}.deals`))[0]).toEqual({ dealname: 'Big one', amount: dialect(dbKind).amount });
    const props = await h.hs.call('GET', '/crm/v3/properties/deals');
    expect(props.results.map((p: { name: string }) => p.name)).toContain('operator_note');
  });

  it('validate() names unknown properties and columns, wider directions, double mappings and unmapped filter properties', async () => {
    h = await Harness.start({
      dbKind,
      fieldMappings: [
        {
          name: 'contacts',
          spec: {
            objectType: 'contacts',
            fields: [
              { property: 'email', column: 'email' },
              { property: 'not_a_property', column: 'firstname' },
              { property: 'lastname', column: 'not_a_column' },
              { property: 'phone', column: 'email' },
            ],
          },
        },
      ],
      filters: [{ name: 'f', spec: { objectType: 'contacts', rules: [{ property: 'city', operator: 'Equals', value: 'Berlin' }] } }],
      objects: [{ direction: 'HubSpotToTarget' }],
    });
    h.cfg.fieldMappings[0]!.spec.fields.push({ property: 'company', column: 'company', direction: 'TwoWay' });
    await h.restart();
    const issues = await h.engine.validate();
    expect(issues.map((i) => `${i.kind}/${i.name} ${i.field}`)).toEqual([
      'FieldMapping/contacts spec.fields[1].property',
      'FieldMapping/contacts spec.fields[2].column',
      'FieldMapping/contacts spec.fields[3].column',
      'FieldMapping/contacts spec.fields[4].direction',
      'SyncFilter/f spec.rules[0].property',
    ]);
    const r = await h.cycle('initial', { allowFailure: true });
    expect(r.systemic).toMatchObject({ category: 'Validation', reason: 'InvalidSpec' });
    expect(r.systemic!.message).toContain('spec.fields[1].property');
  });

  it.runIf(dbKind === 'mysql')('a MySQL user without the TRIGGER privilege stops the cycle as TargetUnavailable naming the GRANT', async () => {
    h = await Harness.start({ dbKind });
    const user = `hso_${Math.random().toString(36).slice(2, 8)}`;
    await h.exec(`CREATE USER '${user}'@'%' IDENTIFIED BY 'pw'`);
    try {
      await h.exec(`GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, INDEX ON "${h.db.schema}".* TO '${user}'@'%'`);
      await h.exec(`GRANT ALL PRIVILEGES ON "${h.db.stateSchema}".* TO '${user}'@'%'`);
      const u = new URL(h.db.url);
      u.username = user;
      u.password = 'pw';
      h.cfg.credentials.databaseUrl = u.toString();
      await h.restart();
      const r = await h.cycle('initial', { allowFailure: true });
      expect(r.systemic).toMatchObject({ category: 'Target', reason: 'TargetUnavailable' });
      expect(r.systemic!.message).toContain(`GRANT TRIGGER ON \`${h.db.schema}\`.* TO '${user}'@'%'`);
    } finally {
      await h.exec(`DROP USER IF EXISTS '${user}'@'%'`);
    }
  });

  it('no injection through table or column names: invalid identifiers are refused before any SQL runs', async () => {
    h = await Harness.start({ dbKind, objects: [{ table: 'contacts"; DROP TABLE victims; --' }], ddl: CONTACTS_AND_VICTIMS });
    h.cfg.fieldMappings.push({ name: 'm', spec: { integrationRef: { name: 'acme' }, objectType: 'contacts', fields: [{ property: 'email', column: 'email"); DELETE FROM victims; --' }] } });
    await h.restart();
    const issues = await h.engine.validate();
    expect(issues.map((i) => i.field)).toEqual(expect.arrayContaining(['spec.objects[0].table', 'spec.fields[0].column']));
    const r = await h.cycle('initial', { allowFailure: true });
    expect(r.systemic?.reason).toBe('InvalidSpec');
    expect((await h.rows(`SELECT count(*)::int AS n FROM {schema}.victims`))[0]!.n).toBe(1);
  });
});

const CONTACTS_AND_VICTIMS = [
  `CREATE TABLE {schema}.contacts (id bigserial PRIMARY KEY, email text, firstname text)`,
  `CREATE TABLE {schema}.victims (id int)`,
  `INSERT INTO {schema}.victims VALUES (1)`,
];
