/** The sync engine (DESIGN §3): `createSyncEngine(cfg, deps)` implements the SyncEngine contract of ./types.ts. */
export * from './types.js';
export { createSyncEngine, EXTERNAL_ID_PROPERTY, type SyncEngineDeps } from './engine.js';
