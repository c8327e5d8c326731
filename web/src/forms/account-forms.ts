import { passwordProblem } from '../../../shared/accounts/password-policy';
import { CurrentPasswordSchema, EmailSchema } from '../../../shared/dashboard/account-schemas';

/**
 * Checks of the account forms, before anything is sent. The rules are the server's own, imported
 * from shared/: the email schema of the API and the password policy (length, the common-password
 * list, not the email address). The server checks again and its field errors are shown the same way.
 */
export type FieldErrors = Record<string, string>;

export function emailProblem(email: string): string | undefined {
  const checked = EmailSchema.safeParse(email);
  return checked.success ? undefined : (checked.error.issues[0]?.message ?? 'Enter a valid email address');
}

export function validateLogIn(values: { email: string; password: string }): FieldErrors {
  const errors: FieldErrors = {};
  const email = emailProblem(values.email);
  if (email) errors.email = email;
  const password = CurrentPasswordSchema.safeParse(values.password);
  if (!password.success) errors.password = password.error.issues[0]?.message ?? 'Enter your password';
  return errors;
}

/** A new password and its repetition (sign-up, reset). `email` is the account's, when known. */
export function validateNewPassword(values: { password: string; confirmPassword: string }, email?: string): FieldErrors {
  const errors: FieldErrors = {};
  const problem = passwordProblem(values.password, email);
  if (problem) errors.password = problem;
  else if (values.password !== values.confirmPassword) errors.confirmPassword = 'The two passwords differ';
  return errors;
}

export function validateSignUp(values: { email: string; password: string; confirmPassword: string }): FieldErrors {
  const errors: FieldErrors = {};
  const email = emailProblem(values.email);
  if (email) errors.email = email;
  return { ...errors, ...validateNewPassword(values, email ? undefined : values.email) };
}

/** The token of a mailed link: `/verify-email#token=…` (a fragment never reaches a server or a Referer). */
export function tokenFromFragment(hash: string): string | undefined {
  const token = new URLSearchParams(hash.replace(/^#/, '')).get('token');
  return token && token.length <= 200 ? token : undefined;
}
