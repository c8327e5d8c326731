import type { Reporter, TestModule } from 'vitest/node';

/**
 * Adds to Vitest's output the list of skipped tests (their names carry the reason, e.g.
 * "[skipped: needs DATABASE_URL]") and one plain closing line, "Tests: N passed, N failed, N skipped",
 * that CI reads.
 */
// Vitest loads reporters by default export; the one exception to named exports.
export default class TestSummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    let passed = 0;
    let failed = 0;
    const skipped: string[] = [];
    for (const testModule of testModules) {
      if (testModule.state() === 'failed' && [...testModule.children.allTests()].length === 0) failed++;
      for (const test of testModule.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failed++;
        else if (state === 'skipped') skipped.push(`${testModule.moduleId.replace(`${process.cwd()}/`, '')} › ${test.fullName}`);
      }
    }
    const lines: string[] = [];
    if (skipped.length > 0) {
      lines.push('', `Skipped tests (${skipped.length}):`, ...skipped.map((name) => `  - ${name}`));
    }
    lines.push('', `Tests: ${passed} passed, ${failed} failed, ${skipped.length} skipped`);
    process.stdout.write(`${lines.join('\n')}\n`);
  }
}
