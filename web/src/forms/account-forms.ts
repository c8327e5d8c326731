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

function currentPasswordProblem(password: string): string | undefined {
  const checked = CurrentPasswordSchema.safeParse(password);
  return checked.success ? undefined : (checked.error.issues[0]?.message ?? 'Enter your password');
}

/** Account settings: the current password, and a new one held to the policy (not the account's address). */
export function validateChangePassword(values: { currentPassword: string; newPassword: string; confirmPassword: string }, email?: string): FieldErrors {
  const errors: FieldErrors = {};
  const current = currentPasswordProblem(values.currentPassword);
  if (current) errors.currentPassword = current;
  const checked = validateNewPassword({ password: values.newPassword, confirmPassword: values.confirmPassword }, email);
  if (checked.password) errors.newPassword = checked.password;
  else if (values.newPassword === values.currentPassword) errors.newPassword = 'Choose a password different from the current one';
  else if (checked.confirmPassword) errors.confirmPassword = checked.confirmPassword;
  return errors;
}

/** Account settings: a new address (not the current one) and the password. */
export function validateChangeEmail(values: { newEmail: string; password: string }, currentEmail?: string): FieldErrors {
  const errors: FieldErrors = {};
  const email = emailProblem(values.newEmail);
  if (email) errors.newEmail = email;
  else if (currentEmail && values.newEmail.trim().toLowerCase() === currentEmail.trim().toLowerCase()) errors.newEmail = 'This is your current address already';
  const password = currentPasswordProblem(values.password);
  if (password) errors.password = password;
  return errors;
}

/** Deleting the account: the password, and the typed word that shows it is meant. */
export const DELETE_CONFIRMATION_WORD = 'DELETE';

export function validateDeleteAccount(values: { password: string; confirmation: string }): FieldErrors {
  const errors: FieldErrors = {};
  const password = currentPasswordProblem(values.password);
  if (password) errors.password = password;
  if (values.confirmation.trim() !== DELETE_CONFIRMATION_WORD) errors.confirmation = `Type ${DELETE_CONFIRMATION_WORD} to confirm`;
  return errors;
}
