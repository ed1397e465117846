/** 8 MiB parts, two in flight: memory stays near 3 parts whatever the dump's size. */
export const PART_SIZE = 8 * 1024 * 1024;
export const IN_FLIGHT = 2;

/**
 * The part buffers, reused: one filling and IN_FLIGHT being sent. Copying the stream's chunks into
 * a buffer that is already there (rather than concatenating them into a new one per part) keeps the
 * copy's memory flat and the garbage collector out of the way.
 */
export class PartBuffers {
  private readonly free: Buffer[] = [];

  take(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafe(PART_SIZE);
  }

  /** A part's bytes, once the store has answered for them (a retry resends from the same buffer). */
  give(data: Buffer): void {
    if (this.free.length < IN_FLIGHT + 1)
      this.free.push(Buffer.from(data.buffer, data.byteOffset, PART_SIZE));
  }
}
