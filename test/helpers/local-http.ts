import type { Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** Listens on 127.0.0.1 on a free port (never another address: tests talk to this machine only). */
export async function listenLocal(server: Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

/** A fake's own bug answered as a 500 naming the fake, unless it already answered. */
export function answerFakeError(res: ServerResponse, fake: string, error: unknown): void {
  if (!res.headersSent && !res.destroyed) {
    res.writeHead(500, { "content-type": "text/plain" });
    res.end(`${fake} error: ${String(error)}`);
  }
}
