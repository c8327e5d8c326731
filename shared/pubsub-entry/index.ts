/**
 * Inbound Pub/Sub, the counterpart of http-entry: a stage as a CloudEvent function on the
 * instance's services (`consume`: decode, validate, handle, dead-letter or retry, relay what the
 * stage queued) and the subscriber of every dead-letter topic (`deadLetterSink`).
 */
export { type Delivery, type ConsumeOptions, consume } from './consume.js';
export { deadLetterSink } from './dead-letter-sink.js';
