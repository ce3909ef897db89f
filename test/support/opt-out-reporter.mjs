// Lists, after Jest's own summary, every test skipped because METALLB_TEST_SKIP_PRIVILEGED=1 opted out of
// the tests that need root or FRR (test/support/prerequisites.ts marks their titles), so an opt-out is
// never silent. Plain JS because Jest loads reporters without transforming them.
const marker = '[skipped: METALLB_TEST_SKIP_PRIVILEGED=1]';

export default class OptOutReporter {
  onRunComplete(_contexts, results) {
    const skipped = [];
    for (const file of results.testResults) {
      for (const test of file.testResults) {
        if (test.status !== 'pending') continue;
        const title = [...test.ancestorTitles, test.title].join(' › ');
        if (title.includes(marker)) skipped.push(`  ${file.testFilePath}: ${title.replace(marker, '—')}`);
      }
    }
    if (skipped.length === 0) return;
    process.stderr.write(
      `\nMETALLB_TEST_SKIP_PRIVILEGED=1: ${skipped.length} test(s) that need root or FRR were NOT run:\n` +
        `${skipped.join('\n')}\n`,
    );
  }
}
