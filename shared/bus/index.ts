export { type Publisher, type PublishOptions, createPubSubPublisher } from './publisher.js';
export {
  type PubSubMessage,
  type BinaryCloudEventRequest,
  MESSAGE_ID_ATTRIBUTE,
  MESSAGE_PUBLISHED_TYPE,
  buildPubSubCloudEvent,
  decodePubSubCloudEvent,
} from './cloud-event.js';
export { type EnqueueOptions, type EnqueuedMessage, type RelayDeps, type RelayReport, enqueueMessage, enqueueMessages, ID_FILLED_BY_SQL, outboxMessage, outboxInsert, outboxInsertSql, type InsertedOutboxRow, type OutboxInsert, type OutboxMessage, type QueuedOutboxRow, relayAfterCommit, relayOutbox, republishMessage, republishStuckMessages, runAndRelay, trackInsertedOutboxRows, trackQueuedMessages } from './outbox.js';
export { type MessageKey, type HandleOnceResult, claimMessage, handleOnce, messageClaimSql } from './handle-once.js';
export {
  type DeadLetter,
  type RecordedDeadLetter,
  type DeadLetterRecord,
  type DeadLetterDetail,
  type DeadLetterRedriveRow,
  type DeadLetterFilter,
  recordDeadLetter,
  deadLetterAction,
  listDeadLetters,
  retrieveDeadLetter,
} from './dead-letters.js';
export {
  type RedriveRefusalCode,
  type RedriveRefusal,
  type RedriveInput,
  type Redrive,
  type RedriveBatchInput,
  type RedriveBatchReport,
  type ResolveInput,
  REDRIVE_BATCH_LIMIT,
  redriveRefusalOf,
  redriveDeadLetter,
  redriveDeadLetters,
  resolveDeadLetter,
} from './dead-letter-redrive.js';
// The topology (pubsub-topics.yaml and its YAML parser) is imported from './topology.js' by the tools
// that need it, not from here: no deployed function loads a YAML parser at cold start.
export { busError } from './errors.js';
