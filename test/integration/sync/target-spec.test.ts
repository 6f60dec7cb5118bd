/**
 * Bad target input is a clear InvalidSpec naming what to change (issue 9): a connection URL of
 * the other database's scheme, and a synced table without a primary key.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { syncDbKinds } from '../../helpers/db.js';
import { Harness } from './harness.js';

const kinds = await syncDbKinds();

describe.each(kinds)('target spec problems (%s)', (dbKind) => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('a URL of the other database kind is InvalidSpec naming the connection Secret reference', async () => {
    h = await Harness.start({ dbKind });
    const kind = dbKind === 'mysql' ? 'mysql' : 'postgres';
    h.cfg.credentials.databaseUrl = kind === 'mysql' ? 'postgres://root@127.0.0.1:5432/test' : 'mysql://root@127.0.0.1:3306/test';
    await h.restart();
    const issues = await h.engine.validate();
    expect(issues).toEqual([expect.objectContaining({ kind: 'HubSpotIntegration', field: `spec.target.${kind}.connectionSecretRef`, message: expect.stringMatching(/URL, but the target is spec\.target\./) })]);
    const r = await h.cycle('initial', { allowFailure: true });
    expect(r.systemic).toEqual(expect.objectContaining({ category: 'Validation', reason: 'InvalidSpec', message: expect.stringContaining(`spec.target.${kind}.connectionSecretRef`) }));
  });

  it('a table without a primary key is InvalidSpec naming the table and the key column', async () => {
    h = await Harness.start({ dbKind, ddl: [`CREATE TABLE {schema}.contacts (id bigint NOT NULL, email text, firstname text)`] });
    const issues = await h.engine.validate();
    expect(issues).toContainEqual(
      expect.objectContaining({ field: 'spec.objects[0].table', message: expect.stringMatching(/has no primary key; add a primary key on its key column "id"/) }),
    );
    const r = await h.cycle('initial', { allowFailure: true });
    expect(r.systemic?.reason).toBe('InvalidSpec');
  });
});
