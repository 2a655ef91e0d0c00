/** A tiny HTTP server for a worker's /metrics (Prometheus text) and /healthz. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface MetricsServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Serves `registry` on 127.0.0.1:`port`; `healthy` decides /healthz (200 or 503). */
export async function startMetricsServer(
  registry: Registry,
  port: number,
  healthy: () => { ok: boolean; detail: unknown },
): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    if (req.url === '/metrics') {
      registry
        .metrics()
        .then((text) => {
          res.writeHead(200, { 'content-type': registry.contentType });
          res.end(text);
        })
        .catch(() => {
          res.writeHead(500).end();
        });
      return;
    }
    if (req.url === '/healthz') {
      const { ok, detail } = healthy();
      res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify(detail));
      return;
    }
    res
      .writeHead(404, { 'content-type': 'application/json' })
      .end('{"error":"not found","code":"NOT_FOUND"}');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
