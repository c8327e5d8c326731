import { defineErrors, type ErrorCodeOf } from '../errors/index.js';

/** Every error the bus/ folder raises, with its kind (status and retry follow from it). */
export const busError = defineErrors({
  dead_letter_conflict: 'unavailable',
  dead_letter_unknown_topic: 'invalid',
  malformed_envelope: 'invalid',
  operator_required: 'invalid',
  publish_failed: 'unavailable',
  publish_rejected: 'invalid',
  reason_required: 'invalid',
  dead_letter_not_found: 'not_found',
  dead_letter_without_topic: 'invalid',
  dead_letter_without_message_id: 'invalid',
  dead_letter_body_invalid: 'invalid',
  dead_letter_resolved: 'conflict',
  redrive_already_queued: 'conflict',
  unknown_topic: 'internal',
});
export type BusErrorCode = ErrorCodeOf<typeof busError>;
