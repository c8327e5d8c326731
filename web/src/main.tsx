import { QueryClientProvider } from '@tanstack/react-query';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app';
import { AuthProvider, createBrowserAuth, createQueryClient } from './auth/auth-context';
import { navigate } from './router';
import './styles.css';

const queryClient = createQueryClient();

const auth = createBrowserAuth((reason) => {
  // Nothing of the previous session stays on screen or in the cache.
  queryClient.clear();
  if (reason === 'logged-out') return;
  const here = `${window.location.pathname}${window.location.search}`;
  if (window.location.pathname === '/login') return;
  navigate(`/login?ended=expired&next=${encodeURIComponent(here)}`, { replace: true });
});
// A refresh with the httpOnly cookie tells whether a session is still open (the token is never stored).
void auth.session.restore();

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <AuthProvider auth={auth}>
      <QueryClientProvider client={queryClient}>
        <App />
      </QueryClientProvider>
    </AuthProvider>
  </StrictMode>,
);
