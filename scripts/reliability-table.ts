/** Prints the table of states, owners and limits that docs/reliability.md shows (between its markers). */
import { renderStateOwnersTable } from '../shared/watchdog/index.js';

process.stdout.write(`<!-- state-owners:start -->\n${renderStateOwnersTable()}\n<!-- state-owners:end -->\n`);
