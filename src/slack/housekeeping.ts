import type { Logger } from "pino";

export interface HousekeepingDeps {
  logger: Logger;
  /** Expired approvals lose their buttons. */
  sweepApprovals(): Promise<number>;
  /** What dead instances left is cleaned up and reported. */
  recoverInterrupted(): Promise<void>;
  sweepIntervalMs: number;
  recoveryIntervalMs: number;
}

/** The bot's timers: the approvals sweeper and recovery after dead instances. Returns their stop. */
export function startHousekeeping(deps: HousekeepingDeps): () => void {
  const sweeper = setInterval(() => void deps.sweepApprovals().catch(() => {}), deps.sweepIntervalMs);
  sweeper.unref();
  // A bot or CLI that died on this state (here or on another host) is noticed when its lease ends.
  let recovering = false;
  const recoverer = setInterval(() => {
    if (recovering) return;
    recovering = true;
    void deps
      .recoverInterrupted()
      .catch((error: unknown) => deps.logger.error({ err: error }, "recovery failed"))
      .finally(() => {
        recovering = false;
      });
  }, deps.recoveryIntervalMs);
  recoverer.unref();
  return () => {
    clearInterval(sweeper);
    clearInterval(recoverer);
  };
}
