/**
 * spec.objects[].hubspotIdColumn (issue 10): a table already keyed by HubSpot ID is adopted,
 * never duplicated; the operator writes the ID of every linked record; an ID HubSpot does not
 * know is a NotFound record error; a missing or mistyped column is InvalidSpec naming the field.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { SyncedObjectSpec } from '../../../operator/src/api/types.js';
import { serverDbKinds } from '../../helpers/db.js';
import { Harness, writeRequests } from './harness.js';

const kinds = await serverDbKinds();

const companies = (idType: string) => `CREATE TABLE {schema}.companies (id bigserial PRIMARY KEY, name text, domain text, hubspot_id ${idType})`;
const OBJECT = { type: 'companies', table: 'companies', match: undefined, hubspotIdColumn: 'hubspot_id' } as Partial<SyncedObjectSpec>;

describe.each(kinds)('hubspotIdColumn (%s)', (dbKind) => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  for (const idType of ['text', 'bigint']) {
    it(`adopts a companies table keyed by HubSpot ID (${idType}) with zero creates on either side`, async () => {
      h = await Harness.start({ dbKind, ddl: [companies(idType)], objects: [OBJECT] });
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push((await h.hs.create('companies', { name: `Co ${i}`, domain: `co${i}.example` })).id);
      for (const [i, id] of ids.entries()) {
        await h.exec(`INSERT INTO {schema}.companies (name, domain, hubspot_id) VALUES ($1, $2, $3)`, [`Co ${i}`, `co${i}.example`, id]);
      }
      const before = writeRequests((await h.hs.stats()).requests.byRoute);
      const r = await h.cycle('initial');
      const o = r.objects[0]!;
      expect(o.lastCycle.toTarget.created).toBe(0);
      expect(o.lastCycle.toHubSpot.created).toBe(0);
      expect(o.linkedRecords).toBe(5);
      expect(o.lastCycle.failed).toBe(0);
      expect(writeRequests((await h.hs.stats()).requests.byRoute)).toBe(before);
      expect((await h.hs.listAll('companies', ['name'])).length).toBe(5);
      expect((await h.rows(`SELECT count(*)::int AS n FROM {schema}.companies`))[0]!.n).toBe(5);

      // Newly created records on either side get the ID written into the column.
      const fresh = await h.hs.create('companies', { name: 'From HubSpot', domain: 'hs.example' });
      await h.exec(`INSERT INTO {schema}.companies (name, domain) VALUES ('From table', 'table.example')`);
      await h.settle();
      const rows = await h.rows<{ name: string; hubspot_id: unknown }>(`SELECT name, hubspot_id FROM {schema}.companies ORDER BY id`);
      expect(rows.length).toBe(7);
      const all = await h.hs.listAll('companies', ['name']);
      expect(all.length).toBe(7);
      const idOf = new Map(all.map((c) => [c.properties.name, c.id]));
      for (const row of rows) expect(String(row.hubspot_id)).toBe(idOf.get(row.name));
      expect(idOf.get('From HubSpot')).toBe(fresh.id);
    });
  }

  it('HubSpot edits of an adopted record reach its row (the row version covers the ID column too)', async () => {
    h = await Harness.start({ dbKind, ddl: [companies('text')], objects: [OBJECT] });
    const id = (await h.hs.create('companies', { name: 'Old name', domain: 'edit.example' })).id;
    await h.exec(`INSERT INTO {schema}.companies (name, domain, hubspot_id) VALUES ('Old name', 'edit.example', $1)`, [id]);
    await h.cycle('initial');
    await h.hs.update('companies', id, { name: 'New name' });
    await h.settle();
    expect(await h.rows(`SELECT name, hubspot_id FROM {schema}.companies`)).toEqual([{ name: 'New name', hubspot_id: id }]);
  });

  it('a HubSpot ID that HubSpot does not know is a NotFound record error, never a duplicate', async () => {
    h = await Harness.start({ dbKind, ddl: [companies('text')], objects: [OBJECT] });
    const known = await h.hs.create('companies', { name: 'Known', domain: 'known.example' });
    await h.exec(`INSERT INTO {schema}.companies (name, domain, hubspot_id) VALUES ('Known', 'known.example', $1), ('Ghost', 'ghost.example', '987654321')`, [known.id]);
    const r = await h.cycle('initial');
    expect(r.objects[0]!.lastCycle.toHubSpot.created).toBe(0);
    expect(r.objects[0]!.linkedRecords).toBe(1);
    expect((await h.hs.listAll('companies', ['name'])).map((c) => c.properties.name)).toEqual(['Known']);
    const errs = await h.errors();
    expect(errs.length).toBe(1);
    expect(errs[0]).toMatchObject({ category: 'NotFound' });
    expect(errs[0]!.message).toContain('hubspot_id');
    expect(errs[0]!.message).toContain('987654321');
    // Again on the next full pass: still no create.
    await h.cycle('full');
    expect((await h.hs.listAll('companies', ['name'])).length).toBe(1);
  });

  it('a hubspotIdColumn that does not exist, or is not text/integer, is InvalidSpec naming the field', async () => {
    h = await Harness.start({ dbKind, ddl: [`CREATE TABLE {schema}.companies (id bigserial PRIMARY KEY, name text, domain text, hubspot_id date)`], objects: [{ ...OBJECT, hubspotIdColumn: 'hs_id' }] });
    let issues = await h.engine.validate();
    expect(issues.map((i) => i.field)).toEqual(['spec.objects[0].hubspotIdColumn']);
    expect(issues[0]!.message).toContain('no column "hs_id"');
    const r = await h.cycle('initial', { allowFailure: true });
    expect(r.systemic).toMatchObject({ reason: 'InvalidSpec' });
    expect(r.systemic!.message).toContain('spec.objects[0].hubspotIdColumn');

    h.cfg.spec.objects[0]!.hubspotIdColumn = 'hubspot_id';
    await h.restart();
    issues = await h.engine.validate();
    expect(issues.map((i) => i.field)).toEqual(['spec.objects[0].hubspotIdColumn']);
    expect(issues[0]!.message).toMatch(/must be a text or integer column/);
  });
});
