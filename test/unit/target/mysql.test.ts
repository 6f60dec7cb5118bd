/**
 * The MySQL connector's pure parts: URL parsing, error classification (what becomes
 * TargetUnavailable, a per-record Target error, or a cycle failure), the refusal messages of
 * CREATE TRIGGER (no TRIGGER privilege; binary logging without log_bin_trust_function_creators,
 * which the development server cannot show: it runs without binary logging), type mapping and
 * the trigger bodies.
 */
import { describe, expect, it } from 'vitest';
import { TargetUnavailableError } from '../../../operator/src/target/connector.js';
import { triggerRefusal, triggerStatements } from '../../../operator/src/target/mysql/capture.js';
import { MySqlUrlError, parseMySqlUrl } from '../../../operator/src/target/mysql/db.js';
import { classifyMySqlError, describeMySqlError } from '../../../operator/src/target/mysql/errors.js';
import { mysqlColumnKindOf, mysqlTypeFor } from '../../../operator/src/target/mysql/tables.js';

/** An error shaped as mysql2 raises it. */
function serverError(code: string, errno: number, sqlState: string, sqlMessage: string): Error {
  return Object.assign(new Error(sqlMessage), { code, errno, sqlState, sqlMessage });
}

describe('mysql:// URLs', () => {
  it('parses user, password, host, port, database and TLS', () => {
    expect(parseMySqlUrl('mysql://sync:p%40ss@db.crm.svc:3307/crm?ssl=true')).toEqual({
      host: 'db.crm.svc',
      port: 3307,
      user: 'sync',
      password: 'p@ss',
      database: 'crm',
      ssl: { rejectUnauthorized: true },
    });
    expect(parseMySqlUrl('mariadb://root@127.0.0.1/')).toMatchObject({ port: 3306, user: 'root', database: undefined, ssl: undefined });
    expect(parseMySqlUrl('mysql://u@h/db?ssl=skip-verify').ssl).toEqual({ rejectUnauthorized: false });
  });

  it('refuses other schemes and bad TLS settings with the expected form, never echoing the password', () => {
    const err = (() => {
      try {
        parseMySqlUrl('postgres://u:s3cret@h:5432/db');
      } catch (e) {
        return e as Error;
      }
    })();
    expect(err).toBeInstanceOf(MySqlUrlError);
    expect(err!.message).toMatch(/needs a mysql:\/\/ URL.*for PostgreSQL use spec.target.postgres/);
    expect(err!.message).not.toContain('s3cret');
    expect(() => parseMySqlUrl('mysql://u@h/db?ssl=maybe')).toThrow(/expected true, skip-verify or false/);
    expect(() => parseMySqlUrl('not a url')).toThrow(/expected mysql:\/\/user:password@host:3306\/database/);
  });
});

describe('error classification', () => {
  it('connection failures are unreachable (TargetUnavailable)', () => {
    for (const code of ['ECONNREFUSED', 'PROTOCOL_CONNECTION_LOST', 'ER_ACCESS_DENIED_ERROR', 'ER_CON_COUNT_ERROR', 'ETIMEDOUT']) {
      expect(classifyMySqlError(Object.assign(new Error(code), { code })).kind, code).toBe('unreachable');
    }
  });

  it('a row the server rejects for its values is a record-level Target error, with what it means', () => {
    const cases: [string, number, string, RegExp][] = [
      ['ER_DUP_ENTRY', 1062, '23000', /duplicate key/],
      ['ER_BAD_NULL_ERROR', 1048, '23000', /NOT NULL column/],
      ['ER_TRUNCATED_WRONG_VALUE', 1292, '22007', /invalid value/],
      ['ER_DATA_TOO_LONG', 1406, '22001', /too long/],
      ['ER_INNODB_AUTOEXTEND_SIZE_OUT_OF_RANGE', 4025, '23000', /check constraint/], // MariaDB's CHECK (errno 4025)
    ];
    for (const [code, errno, state, meaning] of cases) {
      const c = classifyMySqlError(serverError(code, errno, state, 'rejected'));
      expect(c, code).toMatchObject({ kind: 'record', category: 'Target' });
      expect(c.message).toMatch(meaning);
      expect(c.message).toContain(`errno ${errno}`);
    }
    // mysql2's ER_ names follow MySQL's numbers: not shown for MariaDB's own errors.
    expect(describeMySqlError(serverError('ER_INNODB_AUTOEXTEND_SIZE_OUT_OF_RANGE', 4025, '23000', 'CONSTRAINT failed'))).not.toContain('AUTOEXTEND');
  });

  it('anything else fails the cycle as a Target error', () => {
    expect(classifyMySqlError(serverError('ER_NO_SUCH_TABLE', 1146, '42S02', "Table 'crm.x' doesn't exist"))).toMatchObject({ kind: 'other', category: 'Target' });
    expect(classifyMySqlError(new Error('a bug')).kind).toBe('other');
  });
});

describe('CREATE TRIGGER refused', () => {
  const t = { uid: 'u-1', stateDatabase: 'hubspot_operator', schema: 'crm', table: 'contacts', primaryKey: 'id' };

  it('without the TRIGGER privilege: TargetUnavailable with the GRANT to run', () => {
    const err = triggerRefusal(serverError('ER_TABLEACCESS_DENIED_ERROR', 1142, '42000', "TRIGGER command denied to user 'sync'@'%' for table 'contacts'"), t, 'sync');
    expect(err).toBeInstanceOf(TargetUnavailableError);
    expect(err!.message).toContain("GRANT TRIGGER ON `crm`.* TO 'sync'@'%'");
  });

  it('with binary logging on and log_bin_trust_function_creators = 0: TargetUnavailable naming the setting', () => {
    const err = triggerRefusal(
      serverError('ER_BINLOG_CREATE_ROUTINE_NEED_SUPER', 1419, 'HY000', 'You do not have the SUPER privilege and binary logging is enabled (you *might* want to use the less safe log_bin_trust_function_creators variable)'),
      t,
      'sync',
    );
    expect(err).toBeInstanceOf(TargetUnavailableError);
    expect(err!.message).toMatch(/binary logging is on and log_bin_trust_function_creators is 0; set log_bin_trust_function_creators = 1/);
    expect(err!.message).toMatch(/or grant the operator's user SUPER/);
  });

  it('other failures are not dressed up as privilege problems', () => {
    expect(triggerRefusal(serverError('ER_NO_SUCH_TABLE', 1146, '42S02', 'no table'), t, 'sync')).toBeUndefined();
  });
});

describe('types and triggers', () => {
  it('maps MySQL column types to neutral kinds and kinds to createTables types', () => {
    expect(mysqlColumnKindOf('tinyint', 'tinyint(1)')).toBe('boolean');
    expect(mysqlColumnKindOf('tinyint', 'tinyint(4)')).toBe('integer');
    expect(mysqlColumnKindOf('bit', 'bit(1)')).toBe('boolean');
    expect(mysqlColumnKindOf('decimal', 'decimal(10,2)')).toBe('decimal');
    expect(mysqlColumnKindOf('timestamp', 'timestamp')).toBe('datetime');
    expect(mysqlColumnKindOf('longtext', 'longtext')).toBe('text');
    expect(mysqlTypeFor('datetime')).toBe('datetime(3)');
    expect(mysqlTypeFor('decimal')).toBe('decimal(38,10)');
  });

  it('three AFTER triggers skip the operator\'s own writes by the session variable; names change with the body', () => {
    const s = triggerStatements({ uid: 'u-1', stateDatabase: 'hubspot_operator', schema: 'crm', table: 'contacts', primaryKey: 'id' });
    expect([...s.values()].map((x) => /AFTER (\w+)/.exec(x)![1])).toEqual(['INSERT', 'UPDATE', 'DELETE']);
    for (const sql of s.values()) expect(sql).toContain("IF NOT (@hubspot_operator_writer <=> 'u-1')");
    const other = triggerStatements({ uid: 'u-1', stateDatabase: 'state2', schema: 'crm', table: 'contacts', primaryKey: 'id' });
    expect([...other.keys()]).not.toEqual([...s.keys()]);
    expect([...other.keys()].map((n) => n.slice(0, 17))).toEqual([...s.keys()].map((n) => n.slice(0, 17)));
    expect(() => triggerStatements({ uid: "x'; DROP TABLE y; --", stateDatabase: 's', schema: 'crm', table: 'contacts', primaryKey: 'id' })).toThrow(/not usable/);
  });
});
