/**
 * Progress lines for long work (the demo seed, and anything else that takes more than a moment):
 * a numbered step, a running count on a terminal, and how long the step took.
 */
export interface ProgressStep {
  /** Counts items done; on a terminal the count is redrawn in place. */
  tick(count?: number): void;
  /** A line of news within the step (such as one week of the demo's six). */
  line(text: string): void;
  /** Ends the step, with what came of it. */
  done(note?: string): void;
}

export class Progress {
  private current = 0;

  constructor(
    private readonly totalSteps: number,
    private readonly out: NodeJS.WriteStream = process.stdout,
  ) {}

  step(title: string, items?: number): ProgressStep {
    this.current += 1;
    const label = `[${String(this.current).padStart(String(this.totalSteps).length)}/${this.totalSteps}] ${title}`;
    const started = Date.now();
    const live = this.out.isTTY === true && items !== undefined;
    let done = 0;
    this.out.write(live ? `${label} 0/${items}` : `${label} …\n`);
    return {
      tick: (count = 1) => {
        done += count;
        if (live) this.out.write(`\r${label} ${done}/${items}`);
      },
      line: (text) => {
        this.out.write(live ? `\r      ${text}\x1b[K\n${label} ${done}/${items}` : `      ${text}\n`);
      },
      done: (note) => {
        const seconds = ((Date.now() - started) / 1000).toFixed(1);
        const text = `${note ?? `${done} done`} (${seconds} s)`;
        this.out.write(live ? `\r${label}: ${text}\x1b[K\n` : `      ${text}\n`);
      },
    };
  }
}
