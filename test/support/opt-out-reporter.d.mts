/** Types of opt-out-reporter.mjs (plain JS so that Jest loads it untransformed), for its unit test. */
export interface ReportedTest {
  readonly status: string;
  readonly ancestorTitles: readonly string[];
  readonly title: string;
}
export interface ReportedFile {
  readonly testFilePath: string;
  readonly testResults: readonly ReportedTest[];
}
export default class OptOutReporter {
  onRunComplete(contexts: unknown, results: { readonly testResults: readonly ReportedFile[] }): void;
}
