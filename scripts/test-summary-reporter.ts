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
    const brokenFiles: string[] = [];
    for (const testModule of testModules) {
      const file = testModule.moduleId.replace(`${process.cwd()}/`, '');
      const tests = [...testModule.children.allTests()];
      // A file can fail outside its tests (an import, a beforeAll): its tests never ran. That is a
      // failure, not a skip, even though Vitest marks those tests skipped.
      if (testModule.state() === 'failed' && !tests.some((test) => test.result().state === 'failed')) {
        failed++;
        brokenFiles.push(file);
        continue;
      }
      for (const test of tests) {
        const state = test.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failed++;
        else if (state === 'skipped') skipped.push(`${file} › ${test.fullName}`);
      }
    }
    const lines: string[] = [];
    if (brokenFiles.length > 0) {
      lines.push('', `Files that failed outside a test, their tests not run (${brokenFiles.length}, each counted as one failure):`, ...brokenFiles.map((file) => `  - ${file}`));
    }
    if (skipped.length > 0) {
      lines.push('', `Skipped tests (${skipped.length}):`, ...skipped.map((name) => `  - ${name}`));
    }
    lines.push('', `Tests: ${passed} passed, ${failed} failed, ${skipped.length} skipped`);
    process.stdout.write(`${lines.join('\n')}\n`);
  }
}
