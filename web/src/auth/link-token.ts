import { useEffect, useState } from 'react';
import { tokenFromFragment } from '../forms/account-forms';

/**
 * The mailed link's token, read once from the fragment, which is then removed from the address bar
 * (and the history entry) so it is not left behind in the browser.
 */
export function useLinkToken(): string | undefined {
  const [token] = useState(() => tokenFromFragment(window.location.hash));
  useEffect(() => {
    if (window.location.hash) window.history.replaceState(null, '', `${window.location.pathname}${window.location.search}`);
  }, []);
  return token;
}
