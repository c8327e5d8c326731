import { type InputHTMLAttributes, type ReactNode, type SelectHTMLAttributes, type TextareaHTMLAttributes, useEffect, useId, useRef, useState } from 'react';
import { ApiError } from '../api/api-error';

/**
 * The few building blocks every page uses. Each control has a visible <label>; hints and errors are
 * tied to it with aria-describedby, and an error sets aria-invalid, so screen readers announce them.
 */
interface FieldProps {
  label: ReactNode;
  hint?: ReactNode;
  error?: string;
  /** Shown under the control when there is no error (live checks that passed). */
  ok?: ReactNode;
  children: (props: { id: string; 'aria-describedby'?: string; 'aria-invalid'?: boolean }) => ReactNode;
}

export function Field({ label, hint, error, ok, children }: FieldProps) {
  const id = useId();
  const hintId = `${id}-hint`;
  const messageId = `${id}-message`;
  const describedBy = [hint ? hintId : undefined, error || ok ? messageId : undefined].filter(Boolean).join(' ') || undefined;
  return (
    <div className={`field${error ? ' field--invalid' : ''}`}>
      <label htmlFor={id}>{label}</label>
      {children({ id, 'aria-describedby': describedBy, ...(error ? { 'aria-invalid': true } : {}) })}
      {hint && (
        <p className="hint" id={hintId}>
          {hint}
        </p>
      )}
      {error ? (
        <p className="field-error" id={messageId}>
          {error}
        </p>
      ) : ok ? (
        <p className="field-ok" id={messageId}>
          {ok}
        </p>
      ) : null}
    </div>
  );
}

type InputFieldProps = { label: ReactNode; hint?: ReactNode; error?: string; ok?: ReactNode } & InputHTMLAttributes<HTMLInputElement>;

export function TextField({ label, hint, error, ok, ...input }: InputFieldProps) {
  return (
    <Field label={label} hint={hint} error={error} ok={ok}>
      {(props) => <input {...input} {...props} />}
    </Field>
  );
}

export function TextAreaField({ label, hint, error, ...input }: { label: ReactNode; hint?: ReactNode; error?: string } & TextareaHTMLAttributes<HTMLTextAreaElement>) {
  return (
    <Field label={label} hint={hint} error={error}>
      {(props) => <textarea {...input} {...props} />}
    </Field>
  );
}

export function SelectField({ label, hint, error, children, ...select }: { label: ReactNode; hint?: ReactNode; error?: string; children: ReactNode } & SelectHTMLAttributes<HTMLSelectElement>) {
  return (
    <Field label={label} hint={hint} error={error}>
      {(props) => (
        <select {...select} {...props}>
          {children}
        </select>
      )}
    </Field>
  );
}

export function CheckboxField({ label, hint, ...input }: { label: ReactNode; hint?: ReactNode } & InputHTMLAttributes<HTMLInputElement>) {
  const id = useId();
  return (
    <div className="field field--checkbox">
      <input type="checkbox" id={id} aria-describedby={hint ? `${id}-hint` : undefined} {...input} />
      <label htmlFor={id}>{label}</label>
      {hint && (
        <p className="hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
    </div>
  );
}

/** A request's failure in words; focused when it appears so keyboard and screen-reader users meet it. */
export function ErrorMessage({ error }: { error: unknown }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (error) ref.current?.focus();
  }, [error]);
  if (!error) return null;
  const message = error instanceof ApiError ? error.message : error instanceof Error ? error.message : String(error);
  return (
    <div className="alert alert--error" role="alert" tabIndex={-1} ref={ref}>
      {message}
      {error instanceof ApiError && error.requestId && <span className="request-id"> (request {error.requestId.slice(0, 8)})</span>}
    </div>
  );
}

export function Notice({ children, tone = 'info' }: { children: ReactNode; tone?: 'info' | 'success' | 'warning' }) {
  return (
    <div className={`alert alert--${tone}`} role="status">
      {children}
    </div>
  );
}

export function CopyButton({ text, label = 'Copy', what }: { text: string; label?: string; what: string }) {
  const [copied, setCopied] = useState(false);
  useEffect(() => {
    if (!copied) return;
    const timer = setTimeout(() => setCopied(false), 2_000);
    return () => clearTimeout(timer);
  }, [copied]);
  return (
    <button
      type="button"
      className="button button--small"
      aria-label={`${label} ${what}`}
      onClick={() => {
        void navigator.clipboard?.writeText(text).then(
          () => setCopied(true),
          () => setCopied(false),
        );
      }}
    >
      {copied ? 'Copied' : label}
      <span className="visually-hidden" aria-live="polite">
        {copied ? `${what} copied` : ''}
      </span>
    </button>
  );
}

export function Spinner({ label = 'Loading…' }: { label?: string }) {
  return (
    <p className="loading" role="status">
      {label}
    </p>
  );
}

/** The error of a form field from an ApiError's `fields` (the API's paths: `tiers.0.priceUsd`). */
export function fieldErrorsOf(error: unknown): Record<string, string> {
  return error instanceof ApiError ? error.fields : {};
}

/** Moves focus to the first field marked invalid, after React has rendered the errors. */
export function focusFirstInvalid(form: HTMLFormElement | null) {
  requestAnimationFrame(() => form?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus());
}
