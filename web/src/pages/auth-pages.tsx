import { useMutation, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useEffect, useRef, useState } from 'react';
import { ApiError } from '../api/api-error';
import { must } from '../api/client';
import { useAuth } from '../auth/auth-context';
import { useLinkToken } from '../auth/link-token';
import { ErrorMessage, fieldErrorsOf, Notice, TextField, focusFirstInvalid } from '../components/ui';
import { emailProblem, type FieldErrors, validateLogIn, validateNewPassword, validateSignUp } from '../forms/account-forms';
import { Link, navigate, safeNext, useLocation } from '../router';

/** The card around every page a visitor sees before logging in. */
export function AuthCard({ title, children }: { title: string; children: React.ReactNode }) {
  return (
    <main className="auth-card" id="main">
      <p className="brand brand--center">PayGatePrime</p>
      <h1>{title}</h1>
      {children}
    </main>
  );
}

/** Moves focus to the first field with an error, so the person lands where the fix is needed. */

export function LogInPage() {
  const { session, status } = useAuth();
  const { pathname, search } = useLocation();
  const next = safeNext(search.get('next'));
  // Logged in, just now or already (a session restored from the cookie): on to the page asked for.
  useEffect(() => {
    if (status === 'signed-in' && pathname === '/login') navigate(next, { replace: true });
  }, [status, pathname, next]);
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [errors, setErrors] = useState<FieldErrors>({});
  const form = useRef<HTMLFormElement>(null);
  const logIn = useMutation({ mutationFn: () => session.logIn(email, password) });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const found = validateLogIn({ email, password });
    setErrors(found);
    if (Object.keys(found).length > 0) return focusFirstInvalid(form.current);
    logIn.mutate();
  };
  const server = fieldErrorsOf(logIn.error);
  return (
    <AuthCard title="Log in">
      {search.get('ended') === 'expired' && <Notice tone="warning">Your session ended. Log in again to continue where you were.</Notice>}
      {search.get('ended') === 'email-changed' && <Notice>Your new address is confirmed. Log in with it.</Notice>}
      {search.get('ended') === 'password-reset' && <Notice tone="success">Your password is changed. Log in with the new one.</Notice>}
      {search.get('ended') === 'account-deleted' && <Notice>Your account is deleted, and every session with it.</Notice>}
      <form ref={form} onSubmit={submit} noValidate>
        <ErrorMessage error={logIn.error instanceof ApiError && logIn.error.code === 'invalid_credentials' ? new Error('That email and password do not match an account.') : logIn.error} />
        <TextField label="Email" type="email" autoComplete="username" value={email} onChange={(event) => setEmail(event.target.value)} error={errors.email ?? server.email} required />
        <TextField
          label="Password"
          type="password"
          autoComplete="current-password"
          value={password}
          onChange={(event) => setPassword(event.target.value)}
          error={errors.password ?? server.password}
          required
        />
        <button className="button button--primary" type="submit" disabled={logIn.isPending}>
          {logIn.isPending ? 'Logging in…' : 'Log in'}
        </button>
      </form>
      <p className="aside">
        <Link to="/forgot-password">Forgot your password?</Link> · No account yet? <Link to="/signup">Sign up</Link>
      </p>
    </AuthCard>
  );
}

export function SignUpPage() {
  const { publicApi } = useAuth();
  const [values, setValues] = useState({ email: '', password: '', confirmPassword: '' });
  const [errors, setErrors] = useState<FieldErrors>({});
  const form = useRef<HTMLFormElement>(null);
  const signUp = useMutation({
    mutationFn: () => must(publicApi.POST('/auth/signup', { body: { email: values.email, password: values.password } })),
  });
  const set = (name: keyof typeof values) => (event: React.ChangeEvent<HTMLInputElement>) => setValues({ ...values, [name]: event.target.value });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const found = validateSignUp(values);
    setErrors(found);
    if (Object.keys(found).length > 0) return focusFirstInvalid(form.current);
    signUp.mutate();
  };
  if (signUp.isSuccess) {
    return (
      <AuthCard title="Check your inbox">
        <Notice tone="success">{signUp.data.message}</Notice>
        <p>
          The link works for 24 hours. Once your address is verified, <Link to="/login">log in</Link>.
        </p>
      </AuthCard>
    );
  }
  const server = fieldErrorsOf(signUp.error);
  return (
    <AuthCard title="Create your account">
      <form ref={form} onSubmit={submit} noValidate>
        <ErrorMessage error={signUp.error} />
        <TextField label="Email" type="email" autoComplete="email" value={values.email} onChange={set('email')} error={errors.email ?? server.email} required />
        <TextField
          label="Password"
          type="password"
          autoComplete="new-password"
          hint="At least 10 characters; not a common password and not your email address."
          value={values.password}
          onChange={set('password')}
          error={errors.password ?? server.password}
          required
        />
        <TextField
          label="Repeat the password"
          type="password"
          autoComplete="new-password"
          value={values.confirmPassword}
          onChange={set('confirmPassword')}
          error={errors.confirmPassword}
          required
        />
        <button className="button button--primary" type="submit" disabled={signUp.isPending}>
          {signUp.isPending ? 'Creating…' : 'Create account'}
        </button>
      </form>
      <p className="aside">
        Already have an account? <Link to="/login">Log in</Link>
      </p>
    </AuthCard>
  );
}

export function VerifyEmailPage() {
  const { publicApi, status } = useAuth();
  const queries = useQueryClient();
  const token = useLinkToken();
  const verify = useMutation({
    mutationFn: (value: string) => must(publicApi.POST('/auth/verify-email', { body: { token: value } })),
    // A logged-in tab shows the new state (Telegram linking needs a verified address).
    onSuccess: () => queries.invalidateQueries({ queryKey: ['me'] }),
  });
  const started = useRef(false);
  useEffect(() => {
    // Verifying has no other effect than confirming the address, so the page does it on opening.
    if (token && !started.current) {
      started.current = true;
      verify.mutate(token);
    }
  }, [token, verify]);
  const next = status === 'signed-in' ? <Link to="/telegram">Continue: link your Telegram account</Link> : <Link to="/login?next=/telegram">Log in</Link>;
  return (
    <AuthCard title="Verify your email address">
      {!token && <ErrorMessage error={new Error('This link has no token. Open the link from the mail exactly as it is.')} />}
      {verify.isPending && <p role="status">Verifying…</p>}
      {verify.isSuccess && (
        <>
          <Notice tone="success">Your address is verified.</Notice>
          <p>{next}</p>
        </>
      )}
      {verify.isError && (
        <>
          <ErrorMessage error={verify.error} />
          <p>
            A verification link works once and for 24 hours. Log in to have a new one sent: <Link to="/login">Log in</Link>
          </p>
        </>
      )}
    </AuthCard>
  );
}

export function ForgotPasswordPage() {
  const { publicApi } = useAuth();
  const [email, setEmail] = useState('');
  const [error, setError] = useState<string>();
  const request = useMutation({ mutationFn: () => must(publicApi.POST('/auth/forgot-password', { body: { email } })) });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const problem = emailProblem(email);
    setError(problem);
    if (!problem) request.mutate();
  };
  return (
    <AuthCard title="Forgot your password?">
      {request.isSuccess ? (
        <Notice tone="success">{request.data.message} The link works for one hour.</Notice>
      ) : (
        <form onSubmit={submit} noValidate>
          <p>We will mail you a link to choose a new password.</p>
          <ErrorMessage error={request.error} />
          <TextField label="Email" type="email" autoComplete="email" value={email} onChange={(event) => setEmail(event.target.value)} error={error ?? fieldErrorsOf(request.error).email} required />
          <button className="button button--primary" type="submit" disabled={request.isPending}>
            {request.isPending ? 'Sending…' : 'Send the link'}
          </button>
        </form>
      )}
      <p className="aside">
        <Link to="/login">Back to log in</Link>
      </p>
    </AuthCard>
  );
}

export function ResetPasswordPage() {
  const { publicApi } = useAuth();
  const token = useLinkToken();
  const [values, setValues] = useState({ password: '', confirmPassword: '' });
  const [errors, setErrors] = useState<FieldErrors>({});
  const form = useRef<HTMLFormElement>(null);
  const reset = useMutation({
    mutationFn: () => must(publicApi.POST('/auth/reset-password', { body: { token: token ?? '', password: values.password } })),
    onSuccess: () => navigate('/login?ended=password-reset', { replace: true }),
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const found = validateNewPassword(values);
    setErrors(found);
    if (Object.keys(found).length > 0) return focusFirstInvalid(form.current);
    reset.mutate();
  };
  if (!token) {
    return (
      <AuthCard title="Choose a new password">
        <ErrorMessage error={new Error('This link has no token. Open the link from the mail exactly as it is, or ask for a new one.')} />
        <p>
          <Link to="/forgot-password">Ask for a new link</Link>
        </p>
      </AuthCard>
    );
  }
  return (
    <AuthCard title="Choose a new password">
      <form ref={form} onSubmit={submit} noValidate>
        <ErrorMessage error={reset.error} />
        <TextField
          label="New password"
          type="password"
          autoComplete="new-password"
          hint="At least 10 characters; not a common password. Every session ends: log in again afterwards."
          value={values.password}
          onChange={(event) => setValues({ ...values, password: event.target.value })}
          error={errors.password ?? fieldErrorsOf(reset.error).password}
          required
        />
        <TextField
          label="Repeat the new password"
          type="password"
          autoComplete="new-password"
          value={values.confirmPassword}
          onChange={(event) => setValues({ ...values, confirmPassword: event.target.value })}
          error={errors.confirmPassword}
          required
        />
        <button className="button button--primary" type="submit" disabled={reset.isPending}>
          {reset.isPending ? 'Saving…' : 'Set the new password'}
        </button>
      </form>
      {reset.isError && (
        <p className="aside">
          <Link to="/forgot-password">Ask for a new link</Link>
        </p>
      )}
    </AuthCard>
  );
}

export function ConfirmEmailPage() {
  const { publicApi, session } = useAuth();
  const token = useLinkToken();
  const confirm = useMutation({
    mutationFn: () => must(publicApi.POST('/auth/confirm-email-change', { body: { token: token ?? '' } })),
    // Confirming ends every session: this tab's too.
    onSuccess: async () => {
      if (session.status() === 'signed-in') await session.logOut();
      navigate('/login?ended=email-changed', { replace: true });
    },
  });
  return (
    <AuthCard title="Confirm your new email address">
      {!token ? (
        <ErrorMessage error={new Error('This link has no token. Open the link from the mail exactly as it is.')} />
      ) : (
        <>
          <p>Your account will use this address from now on, and every session ends: you log in again with the new address.</p>
          <ErrorMessage error={confirm.error} />
          <button className="button button--primary" type="button" onClick={() => confirm.mutate()} disabled={confirm.isPending || confirm.isSuccess}>
            {confirm.isPending ? 'Confirming…' : 'Confirm the new address'}
          </button>
        </>
      )}
    </AuthCard>
  );
}
