/**
 * Resolves at the event loop's next turn, after the I/O that waits for it has been served
 * (`setImmediate` runs after the loop's poll phase). Work that shares the service's one thread
 * with the posting groups (the webhook dispatcher) goes in slices with this between them, so a
 * posting group's answer from the database, and the ledger head behind it, never waits for a long
 * stretch of that work.
 */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Work that runs at the event loop's next turn, once however often it is asked for before then:
 * what is asked for in one turn (the commands that arrived, the requests started) is done together.
 */
export class NextTurn {
  private scheduled = false;

  constructor(private readonly work: () => void) {}

  /** Asked for and not yet run. */
  get pending(): boolean {
    return this.scheduled;
  }

  ask(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.work();
    });
  }
}
