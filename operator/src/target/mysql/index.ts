/**
 * target/mysql: the MySQL 8 / MariaDB 10.6+ connector, loaded by the factory (../index.ts)
 * for spec.target.mysql. Loading it registers how mysql2's errors are classified.
 */
import { registerErrorClassifier, type ConnectorModule } from '../connector.js';
import { openMySqlConnector } from './connector.js';
import { classifyMySqlError, isMySqlError } from './errors.js';

registerErrorClassifier((err) => (isMySqlError(err) ? classifyMySqlError(err) : undefined));

export const openConnector: ConnectorModule['openConnector'] = openMySqlConnector;
export { mysqlSharedResources } from './connector.js';
