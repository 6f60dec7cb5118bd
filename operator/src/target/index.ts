/**
 * The connector factory: opens the connector of an integration's spec.target (postgres |
 * mysql) with its credentials. Connector folders are imported lazily, so the engine loads only
 * the driver it uses, and this module holds no SQL (sync/ may import it).
 */
import { TargetSpecError, type Connector, type ConnectorModule, type ConnectorOptions, type TargetSettings } from './connector.js';

export * from './connector.js';

const POSTGRES_SCHEMES = ['postgres:', 'postgresql:', 'pglite:'];
const MYSQL_SCHEMES = ['mysql:', 'mariadb:'];

function schemeOf(url: string): string | undefined {
  const m = /^([a-z][a-z0-9+.-]*:)\/\//i.exec(url.trim());
  return m?.[1]?.toLowerCase();
}

/**
 * Check the URL's scheme against the target kind: a mysql:// URL in a postgres target (or the
 * reverse) is a spec mistake, reported as InvalidSpec naming the connection Secret reference.
 */
export function checkTargetUrl(settings: TargetSettings, url: string | undefined, hasInjectedDb = false): void {
  const field = settings.fields.connectionSecretRef;
  if (!url) {
    if (hasInjectedDb) return;
    throw new TargetSpecError(field, `the Secret's connection URL is empty; expected ${settings.kind === 'mysql' ? 'mysql://user:password@host:3306/' : 'postgres://user:password@host:5432/db'}`);
  }
  const scheme = schemeOf(url);
  const expected = settings.kind === 'mysql' ? MYSQL_SCHEMES : POSTGRES_SCHEMES;
  if (scheme && expected.includes(scheme)) return;
  const other = settings.kind === 'mysql' ? POSTGRES_SCHEMES : MYSQL_SCHEMES;
  if (scheme && other.includes(scheme)) {
    const otherKind = settings.kind === 'mysql' ? 'postgres' : 'mysql';
    throw new TargetSpecError(
      field,
      `the Secret holds a ${scheme}// URL, but the target is spec.target.${settings.kind}; ` +
        `put a ${expected[0]}// URL in the Secret, or use spec.target.${otherKind} for this database`,
    );
  }
  throw new TargetSpecError(field, `the Secret's connection URL ${scheme ? `has the unsupported scheme ${scheme}//` : 'is not a URL'}; expected ${expected.map((s) => `${s}//`).join(' or ')}`);
}

/** Open the connector for an integration's target (its pool is shared with the same database's other integrations). */
export async function openConnector(databaseUrl: string | undefined, opts: ConnectorOptions): Promise<Connector> {
  checkTargetUrl(opts.settings, databaseUrl, opts.pglite !== undefined);
  let mod: ConnectorModule;
  if (opts.settings.kind === 'mysql') {
    // target/mysql/ (mysql2; MySQL 8, MariaDB 10.6+).
    mod = await import('./mysql/index.js');
  } else {
    mod = await import('./postgres/index.js');
  }
  return mod.openConnector(databaseUrl, opts);
}
