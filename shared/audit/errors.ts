import { defineErrors, type ErrorCodeOf } from '../errors/index.js';

/** Every error the audit/ folder raises, with its kind (status and retry follow from it). */
export const auditError = defineErrors({
  invalid_cursor: 'invalid',
  invalid_secret_name: 'invalid',
  invalid_audit_filter: 'invalid',
});
export type AuditErrorCode = ErrorCodeOf<typeof auditError>;
