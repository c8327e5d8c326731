/**
 * Alternating rounds. The machine is noisy (2 shared cores, sometimes a chaos run beside us), so a
 * subject is never compared with a baseline measured minutes apart: each round measures the
 * baseline, then the subject, and the figures are the medians over rounds.
 */

export interface AlternatingResult<B, S> {
  baseline: B[];
  subject: S[];
}

/**
 * Runs `rounds` rounds of baseline then subject, in that order, one at a time (never in parallel:
 * they would compete for the same cores). `onRound` is told after each round, for progress output.
 */
export async function alternateRounds<B, S>(options: {
  rounds: number;
  baseline: (round: number) => Promise<B>;
  subject: (round: number, baseline: B) => Promise<S>;
  onRound?: (round: number, baseline: B, subject: S) => void;
}): Promise<AlternatingResult<B, S>> {
  const result: AlternatingResult<B, S> = { baseline: [], subject: [] };
  for (let round = 1; round <= options.rounds; round += 1) {
    const baseline = await options.baseline(round);
    const subject = await options.subject(round, baseline);
    result.baseline.push(baseline);
    result.subject.push(subject);
    options.onRound?.(round, baseline, subject);
  }
  return result;
}
