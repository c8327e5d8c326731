import { useQueryClient } from '@tanstack/react-query';
import { type ComponentType, lazy, type ReactNode, Suspense, useEffect } from 'react';
import { useAuth } from './auth/auth-context';
import { Spinner } from './components/ui';
import { ConfirmEmailPage, ForgotPasswordPage, LogInPage, ResetPasswordPage, SignUpPage, VerifyEmailPage } from './pages/auth-pages';
import { ChannelPage } from './pages/channel-page';
import { CreateChannelPage, EditChannelPage } from './pages/channel-form-page';
import { ChannelsPage } from './pages/channels-page';
import { TelegramPage } from './pages/telegram-page';
import { Link, matchPath, navigate, ParamsProvider, useLocation } from './router';

// Loaded when first opened: they are not needed to log in or to manage channels, and keep the first load small.
const EarningsPage = lazy(() => import('./pages/earnings-page').then((module) => ({ default: module.EarningsPage })));
const PayoutsPage = lazy(() => import('./pages/payouts-page').then((module) => ({ default: module.PayoutsPage })));
const WebhooksPage = lazy(() => import('./pages/webhooks-page').then((module) => ({ default: module.WebhooksPage })));
const AccountPage = lazy(() => import('./pages/account-page').then((module) => ({ default: module.AccountPage })));
const PromoCodesPage = lazy(() => import('./pages/promo-codes-page').then((module) => ({ default: module.PromoCodesPage })));

interface Route {
  path: string;
  page: ComponentType;
  /** Needs a session: without one, log in first and come back. */
  isPrivate?: boolean;
  title: string;
}

/** Every page. The mailed links (`/verify-email`, `/reset-password`, `/confirm-email`) are public. */
export const ROUTES: Route[] = [
  { path: '/login', page: LogInPage, title: 'Log in' },
  { path: '/signup', page: SignUpPage, title: 'Sign up' },
  { path: '/verify-email', page: VerifyEmailPage, title: 'Verify your email' },
  { path: '/forgot-password', page: ForgotPasswordPage, title: 'Forgot password' },
  { path: '/reset-password', page: ResetPasswordPage, title: 'New password' },
  { path: '/confirm-email', page: ConfirmEmailPage, title: 'Confirm your new email' },
  { path: '/telegram', page: TelegramPage, isPrivate: true, title: 'Link Telegram' },
  { path: '/channels', page: ChannelsPage, isPrivate: true, title: 'Channels' },
  { path: '/channels/new', page: CreateChannelPage, isPrivate: true, title: 'Register a channel' },
  { path: '/channels/:channelId', page: ChannelPage, isPrivate: true, title: 'Channel' },
  { path: '/channels/:channelId/edit', page: EditChannelPage, isPrivate: true, title: 'Edit channel' },
  { path: '/channels/:channelId/promo-codes', page: PromoCodesPage, isPrivate: true, title: 'Promo codes' },
  { path: '/earnings', page: EarningsPage, isPrivate: true, title: 'Earnings' },
  { path: '/payouts', page: PayoutsPage, isPrivate: true, title: 'Payouts' },
  { path: '/webhooks', page: WebhooksPage, isPrivate: true, title: 'Webhooks' },
  { path: '/account', page: AccountPage, isPrivate: true, title: 'Account settings' },
];

export function App() {
  const { pathname, href } = useLocation();
  const { status } = useAuth();
  if (pathname === '/') {
    return <Redirect to={status === 'signed-out' ? '/login' : '/channels'} when={status !== 'unknown'} />;
  }
  for (const route of ROUTES) {
    const params = matchPath(route.path, pathname);
    if (!params) continue;
    const Page = route.page;
    const page = (
      <ParamsProvider value={params}>
        <Title text={route.title} />
        <Suspense fallback={<Spinner />}>
          <Page />
        </Suspense>
      </ParamsProvider>
    );
    if (!route.isPrivate) return page;
    if (status === 'unknown') return <Spinner label="Opening your session…" />;
    if (status === 'signed-out') return <Redirect to={`/login?next=${encodeURIComponent(href)}`} />;
    return <Shell>{page}</Shell>;
  }
  return (
    <main className="auth-card" id="main">
      <Title text="Not found" />
      <h1>Nothing here</h1>
      <p>
        This address is not a page of the dashboard. <Link to="/">Go to the start</Link>
      </p>
    </main>
  );
}

function Title({ text }: { text: string }) {
  useEffect(() => {
    document.title = `${text} · PayGatePrime`;
  }, [text]);
  return null;
}

function Redirect({ to, when = true }: { to: string; when?: boolean }) {
  useEffect(() => {
    if (when) navigate(to, { replace: true });
  }, [to, when]);
  return <Spinner />;
}

/** The signed-in layout: a skip link, the header with the sections, and the page. */
function Shell({ children }: { children: ReactNode }) {
  const { session } = useAuth();
  const queries = useQueryClient();
  const { pathname } = useLocation();
  const current = (prefix: string) => (pathname === prefix || pathname.startsWith(`${prefix}/`) ? 'page' : undefined);
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to the content
      </a>
      <header className="top-bar">
        <Link to="/channels" className="brand">
          PayGatePrime
        </Link>
        <nav aria-label="Sections">
          <Link to="/channels" aria-current={current('/channels')}>
            Channels
          </Link>
          <Link to="/earnings" aria-current={current('/earnings')}>
            Earnings
          </Link>
          <Link to="/payouts" aria-current={current('/payouts')}>
            Payouts
          </Link>
          <Link to="/webhooks" aria-current={current('/webhooks')}>
            Webhooks
          </Link>
          <Link to="/telegram" aria-current={current('/telegram')}>
            Telegram
          </Link>
          <Link to="/account" aria-current={current('/account')}>
            Account
          </Link>
        </nav>
        <button
          type="button"
          className="button button--quiet"
          onClick={async () => {
            await session.logOut();
            queries.clear();
            navigate('/login', { replace: true });
          }}
        >
          Log out
        </button>
      </header>
      <main className="page" id="main" tabIndex={-1}>
        {children}
      </main>
    </>
  );
}
