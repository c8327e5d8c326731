// Baseline for bench/cold-start.ts: a functions-framework function that imports nothing else, so
// its spawn → first answer time is Node plus the framework, the floor every function starts from.
import * as ff from '@google-cloud/functions-framework';

ff.http('empty', (req, res) => {
  res.status(204).end();
});
