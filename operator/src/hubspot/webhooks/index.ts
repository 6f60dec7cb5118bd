/** The HubSpot webhook receiver (DESIGN §2.8): signature check, routing, durable intake. */
export { WebhookReceiver, WEBHOOK_PATH, DEFAULT_WEBHOOK_PORT, type WebhookReceiverOptions } from './receiver.js';
export { directoryFromCache, webhookConfigProblem, type WebhookDirectory, type WebhookTarget, type DirectorySource } from './directory.js';
export { EVENT_KINDS, eventKind, eventObjectType, type InboxEvent, type WebhookInbox, type HubSpotWebhookEvent, type EventKind } from './events.js';
export { signV3, checkTimestamp, MAX_TIMESTAMP_SKEW_MS } from './signature.js';
export { WebhookStats, type WebhookStatus } from './stats.js';
