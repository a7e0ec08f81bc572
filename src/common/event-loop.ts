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
