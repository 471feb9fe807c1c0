import type { Row } from './report.js';

/** A benchmark scenario: measures its subjects side by side and returns one row per figure. */
export interface Scenario {
  readonly name: string;
  readonly description: string;
  run(): Promise<Row[]>;
}
