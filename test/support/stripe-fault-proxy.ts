/**
 * A fault-injecting HTTP proxy in front of the real stripe-mock, for the payment tests.
 *
 * By default every request goes through to stripe-mock untouched (so the happy path and the real error
 * bodies stay stripe-mock's own) and is recorded, Idempotency-Key included. A TEST DOUBLE answers only
 * where a script says so, and only for what stripe-mock cannot produce: it is stateless and "returns a
 * success response instead of the desired error response" — so card declines (402 card_error), server
 * errors (5xx), rate limits (429), answers that never come (timeouts), answers that come too late, and
 * unknown outcomes (stripe-mock did process the request, then the connection drops before the answer).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type StripeFault =
  /** 402 card_error with a PaymentIntent left in requires_payment_method, as Stripe answers a decline. */
  | { readonly kind: 'decline'; readonly declineCode?: string; readonly message?: string }
  /** An error status with Stripe's error body (500 api_error, 429 rate_limit, …). */
  | {
      readonly kind: 'status';
      readonly status: number;
      readonly type?: string;
      readonly code?: string;
      readonly shouldRetry?: boolean;
    }
  /** No answer at all: the client's timeout decides. */
  | { readonly kind: 'hang' }
  /** Goes through to stripe-mock, and the answer comes back after `ms`. */
  | { readonly kind: 'delay'; readonly ms: number }
  /** Goes through to stripe-mock (which "charges"), then the connection drops: the outcome is unknown. */
  | { readonly kind: 'drop-after-forward' };

/** A request as the proxy saw it. */
export interface SeenRequest {
  readonly method: string;
  readonly path: string;
  readonly idempotencyKey: string | undefined;
  readonly params: URLSearchParams;
  /** The fault applied, or 'forwarded'. */
  readonly handling: StripeFault['kind'] | 'forwarded';
  /** What stripe-mock answered, when the request reached it. */
  readonly upstreamStatus?: number;
}

const FORWARDED_HEADERS = [
  'authorization',
  'content-type',
  'idempotency-key',
  'stripe-version',
  'user-agent',
];
const RETURNED_HEADERS = ['content-type', 'idempotency-key', 'request-id', 'stripe-mock-version'];

export class StripeFaultProxy {
  readonly requests: SeenRequest[] = [];
  private server: http.Server | undefined;
  private readonly scripts = new Map<string, StripeFault[]>();
  private readonly hanging = new Set<http.ServerResponse>();

  constructor(private readonly target: string) {}

  /** The base URL to give the Stripe client (`STRIPE_API_URL`). */
  get url(): string {
    const address = this.server?.address() as AddressInfo | undefined;
    if (!address) throw new Error('the proxy is not listening');
    return `http://127.0.0.1:${address.port}`;
  }

  /** Faults for the next creates of PaymentIntents (`POST /v1/payment_intents`), in order. */
  onCharge(...faults: StripeFault[]): this {
    return this.on('POST /v1/payment_intents', faults);
  }

  /** Faults for the next refunds (`POST /v1/refunds`), in order. */
  onRefund(...faults: StripeFault[]): this {
    return this.on('POST /v1/refunds', faults);
  }

  private on(route: string, faults: StripeFault[]): this {
    this.scripts.set(route, [...(this.scripts.get(route) ?? []), ...faults]);
    return this;
  }

  /** Requests to one route, e.g. `charges()` for every PaymentIntent create. */
  charges(): SeenRequest[] {
    return this.requests.filter((r) => r.method === 'POST' && r.path === '/v1/payment_intents');
  }

  refunds(): SeenRequest[] {
    return this.requests.filter((r) => r.method === 'POST' && r.path === '/v1/refunds');
  }

  async start(): Promise<this> {
    const server = http.createServer((req, res) => {
      void this.handle(req, res).catch(() => res.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    return this;
  }

  async close(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.hanging.clear();
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const method = req.method ?? 'GET';
    const fault = this.scripts.get(`${method} ${path}`)?.shift();
    const seen = {
      method,
      path,
      idempotencyKey: header(req, 'idempotency-key'),
      params: new URLSearchParams(body),
      handling: fault?.kind ?? ('forwarded' as const),
    };

    if (fault?.kind === 'hang') {
      this.requests.push(seen);
      this.hanging.add(res);
      res.on('close', () => this.hanging.delete(res));
      return;
    }
    if (fault?.kind === 'status') {
      this.requests.push(seen);
      const type = fault.type ?? (fault.status === 429 ? 'invalid_request_error' : 'api_error');
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'request-id': 'req_fault',
      };
      if (fault.shouldRetry !== undefined) headers['stripe-should-retry'] = String(fault.shouldRetry);
      res.writeHead(fault.status, headers);
      res.end(
        JSON.stringify({
          error: {
            type,
            ...(fault.code ? { code: fault.code } : {}),
            message: `injected HTTP ${fault.status}`,
          },
        }),
      );
      return;
    }

    const upstream = await this.forward(method, req, body);
    this.requests.push({ ...seen, upstreamStatus: upstream.status });
    if (fault?.kind === 'drop-after-forward') {
      res.socket?.destroy();
      return;
    }
    if (fault?.kind === 'delay') await new Promise((r) => setTimeout(r, fault.ms));
    if (fault?.kind === 'decline') {
      const intent = JSON.parse(upstream.body) as Record<string, unknown>;
      const declineCode = fault.declineCode ?? 'insufficient_funds';
      const message = fault.message ?? 'Your card has insufficient funds.';
      const lastPaymentError = {
        type: 'card_error',
        code: 'card_declined',
        decline_code: declineCode,
        message,
      };
      res.writeHead(402, { 'content-type': 'application/json', 'request-id': 'req_decline' });
      res.end(
        JSON.stringify({
          error: {
            ...lastPaymentError,
            payment_intent: {
              ...intent,
              status: 'requires_payment_method',
              last_payment_error: lastPaymentError,
            },
          },
        }),
      );
      return;
    }
    res.writeHead(upstream.status, upstream.headers);
    res.end(upstream.body);
  }

  private async forward(method: string, req: http.IncomingMessage, body: string) {
    const headers: Record<string, string> = {};
    for (const name of FORWARDED_HEADERS) {
      const value = header(req, name);
      if (value !== undefined) headers[name] = value;
    }
    const response = await fetch(`${this.target}${req.url ?? '/'}`, {
      method,
      headers,
      ...(method === 'GET' || method === 'HEAD' ? {} : { body }),
    });
    const returned: Record<string, string> = {};
    for (const name of RETURNED_HEADERS) {
      const value = response.headers.get(name);
      if (value !== null) returned[name] = value;
    }
    return { status: response.status, headers: returned, body: await response.text() };
  }
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
