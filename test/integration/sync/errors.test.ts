import { afterEach, describe, expect, it } from 'vitest';
import { syncDbKinds } from '../../helpers/db.js';
import { Harness } from './harness.js';

const kinds = await syncDbKinds();

describe.each(kinds)('per-record errors (%s)', (dbKind) => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('keeps invalid records as per-record errors while the rest of the cycle completes, and clears them once fixed', async () => {
    h = await Harness.start({
      dbKind,
      ddl: [
        `CREATE TABLE {schema}.contacts (id bigserial PRIMARY KEY, email text, firstname text, lastname text CHECK (lastname IS NULL OR lastname <> 'forbidden'), amount numeric)`,
      ],
      fieldMappings: [
        {
          name: 'contacts',
          spec: {
            objectType: 'contacts',
            fields: [
              { property: 'email', column: 'email' },
              { property: 'firstname', column: 'firstname', required: true },
              { property: 'lastname', column: 'lastname' },
              { property: 'hs_lead_status', column: 'amount', direction: 'HubSpotToTarget' },
            ],
          },
        },
      ],
    });
    await h.hs.create('contacts', { email: 'ok@example.com', firstname: 'Ok' });
    const noName = await h.hs.create('contacts', { email: 'noname@example.com' });
    const bad = await h.hs.create('contacts', { email: 'constraint@example.com', firstname: 'C', lastname: 'forbidden' });
    const notNumber = await h.hs.create('contacts', { email: 'mapping@example.com', firstname: 'M', hs_lead_status: 'NEW' });
    await h.exec(`INSERT INTO {schema}.contacts (email, firstname) VALUES ('not-an-email', 'Bad'), ('fine@example.com', 'Fine'), ('missing@example.com', NULL)`);

    const r = await h.cycle('initial');
    expect(r.completed).toBe(true);
    expect(r.systemic).toBeUndefined();
    // The valid records synced both ways.
    expect((await h.rows(`SELECT email FROM {schema}.contacts WHERE email IN ('ok@example.com')`)).length).toBe(1);
    expect((await h.hs.listAll('contacts', ['email'])).map((x) => x.properties.email)).toContain('fine@example.com');

    const errors = await h.errors();
    const byCat = (c: string) => errors.filter((e) => e.category === c);
    expect(byCat('Validation')).toHaveLength(3);
    expect(byCat('Validation').map((e) => e.message)).toEqual(expect.arrayContaining([
      expect.stringMatching(/contacts key \d+: create in HubSpot failed: .*email/i),
      expect.stringMatching(/contacts key \d+: required "firstname" is empty/),
      expect.stringMatching(new RegExp(`contacts ${noName.id}: required "firstname" is empty`)),
    ]));
    expect(byCat('Validation').find((e) => /create in HubSpot/.test(e.message))?.correlation_id).toBeTruthy();
    expect(byCat('Target')).toEqual([expect.objectContaining({ hubspot_id: bad.id, message: expect.stringMatching(/check constraint|violates/) })]);
    expect(byCat('Mapping')).toEqual([expect.objectContaining({ hubspot_id: notNumber.id, message: expect.stringMatching(/"NEW" is not a number/) })]);
    expect(r.errors.map((e) => [e.category, e.records]).sort()).toEqual([
      ['Mapping', 1],
      ['Target', 1],
      ['Validation', 3],
    ]);

    // Fixing a record clears its error on the next cycle.
    await h.hs.update('contacts', noName.id, { firstname: 'Named' });
    await h.exec(`UPDATE {schema}.contacts SET email = 'now-valid@example.com' WHERE email = 'not-an-email'`);
    const r2 = await h.cycle();
    expect(r2.errors.map((e) => [e.category, e.records]).sort()).toEqual([
      ['Mapping', 1],
      ['Target', 1],
      ['Validation', 1],
    ]);
    expect((await h.hs.listAll('contacts', ['email'])).map((x) => x.properties.email)).toContain('now-valid@example.com');
  });
});
