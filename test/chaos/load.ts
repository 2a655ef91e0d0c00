/**
 * Open-loop load at a fixed rate, through both doors a command can come in by: the HTTP API
 * (`POST /reservations` and `POST /reservations/:id/cancel`, each with an Idempotency-Key of its own) and the
 * producer library (a CommandProducer in this process). Every operation and every attempt is recorded with
 * its answer, which the checker later holds against what Kafka, the databases and Mailpit show.
 *
 * Answers, per attempt:
 * - HTTP: 201/202 (and 200 for a cancel that waited) = accepted; 409 RESERVATION_REJECTED = decided and
 *   refused; 503 with `details.outcome: 'unknown'`, any other 5xx, a 409 IDEMPOTENCY_KEY_IN_USE, a timeout
 *   or a broken connection = outcome unknown, re-sent with the same Idempotency-Key after Retry-After; 503
 *   `not-sent` and a refused connection = refused (nothing written) but re-sent like a client would; any
 *   other 4xx = refused.
 * - Library: resolved = delivered; an error with `code` 'DELIVERY_UNKNOWN' = unknown, the very same command
 *   object re-sent a second later; any other error = refused before sending.
 * An operation stays `unknown` while it has had an unknown attempt and no accepted one; unknown operations
 * are re-sent until `retryWindowMs` after their first attempt.
 */
import { Agent, request as httpRequest } from 'node:http';
import { CommandBuilder, CommandProducer } from '../../producers/index.ts';
import type { Command } from '../../schemas/generated/types.ts';
import type { ChaosEnvironment, ChaosResource } from './environment.ts';
import type { ChaosOptions } from './options.ts';
import { sleep } from './sleep.ts';

export type Channel = 'http' | 'library';
export type OperationKind = 'request' | 'cancel';
/** What one attempt was told. */
export type AttemptOutcome = 'accepted' | 'rejected' | 'refused' | 'unknown';

export interface Attempt {
  readonly at: number;
  readonly ms: number;
  readonly outcome: AttemptOutcome;
  /** HTTP status, or 0 for no answer (timeout, connection refused or reset). */
  readonly status?: number;
  /** The error code of the answer or of the library's error. */
  readonly code?: string;
}

interface OperationBase {
  readonly id: number;
  readonly op: OperationKind;
  readonly resourceId: string;
  readonly customerId: string;
  readonly firstAt: number;
  readonly attempts: Attempt[];
  /** When the next attempt is due (unknown outcomes only). */
  nextAt: number | undefined;
  inFlight: boolean;
}

export interface HttpOperation extends OperationBase {
  readonly channel: 'http';
  readonly idempotencyKey: string;
  readonly path: string;
  readonly body: Record<string, unknown>;
  readonly wait: boolean;
  /** The request's reservation (from the answer), or the cancelled one. */
  reservationId: string | undefined;
  /** From a 202 or 409 answer (a 201 shows the reservation instead). */
  commandId: string | undefined;
  /** Status of the decisive answer (201, 202, 200 or 409). */
  answeredStatus: number | undefined;
}

export interface LibraryOperation extends OperationBase {
  readonly channel: 'library';
  readonly command: Command;
}

export type Operation = HttpOperation | LibraryOperation;

/** The operation's standing from its attempts: accepted/rejected once decided, else unknown or refused. */
export function finalOutcome(op: Operation): AttemptOutcome {
  const decisive = op.attempts.find((a) => a.outcome === 'accepted' || a.outcome === 'rejected');
  if (decisive) return decisive.outcome;
  if (op.attempts.some((a) => a.outcome === 'unknown')) return 'unknown';
  return 'refused';
}

export interface LoadStats {
  planned: number;
  /** Operations not started because too many were still waiting for an answer. */
  shed: number;
  attempts: number;
  retries: number;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const HTTP_TIMEOUT_MS = 30_000; // above the API's 15 s delivery timeout plus a 2 s wait
const MAX_IN_FLIGHT = 3_000;

interface HttpAnswer {
  readonly status: number;
  readonly retryAfterMs: number | undefined;
  // biome-ignore lint/suspicious/noExplicitAny: answers are read loosely; the checker judges them
  readonly body: Record<string, any>;
}

export class LoadGenerator {
  readonly operations: Operation[] = [];
  readonly stats: LoadStats = { planned: 0, shed: 0, attempts: 0, retries: 0 };
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 64 });
  private readonly producer: CommandProducer;
  private readonly builder = new CommandBuilder();
  private readonly httpAccepted: HttpOperation[] = [];
  private readonly libraryDelivered: LibraryOperation[] = [];
  private readonly base = Math.ceil(Date.now() / DAY) * DAY + DAY; // periods from the day after tomorrow
  private inFlight = 0;
  /** Operations with a re-send due. */
  private readonly waiting = new Set<Operation>();
  private ticker: NodeJS.Timeout | undefined;
  private startedAt = 0;
  private readonly api: URL;

  constructor(
    private readonly env: ChaosEnvironment,
    private readonly options: ChaosOptions,
  ) {
    this.api = new URL(env.apiUrl);
    this.producer = CommandProducer.fromConfig(env.config, env.logger, {
      source: '/slotstream/chaos',
      // Like the API's: an outage longer than this is reported as DELIVERY_UNKNOWN and re-sent by us.
      deliveryTimeoutMs: 15_000,
    });
  }

  async connect(): Promise<void> {
    await this.producer.connect();
  }

  /** Starts offering `rate` operations per second until `stop`; unknown outcomes are re-sent meanwhile. */
  start(): void {
    this.startedAt = Date.now();
    const { rate } = this.options;
    this.ticker = setInterval(() => {
      const now = Date.now();
      const due = Math.floor(((now - this.startedAt) * rate) / 1000);
      while (this.stats.planned < due) {
        this.stats.planned += 1;
        if (this.inFlight >= MAX_IN_FLIGHT) this.stats.shed += 1;
        else this.issue(now);
      }
      this.retryDue(now);
    }, 10);
  }

  /** Stops offering new operations (re-sends go on until `settle`). */
  stop(): void {
    clearInterval(this.ticker);
    this.ticker = undefined;
  }

  /**
   * Re-sends unknown outcomes until none is left or their windows have passed, and waits for the answers in
   * flight; returns how many operations are still unknown.
   */
  async settle(timeoutMs: number, signal?: AbortSignal): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const now = Date.now();
      this.retryDue(now);
      if ((this.inFlight === 0 && this.waiting.size === 0) || now > deadline || signal?.aborted) {
        return this.operations.filter((op) => finalOutcome(op) === 'unknown').length;
      }
      await sleep(100);
    }
  }

  async close(): Promise<void> {
    this.stop();
    await this.producer.disconnect().catch(() => undefined);
    this.agent.destroy();
  }

  get elapsedMs(): number {
    return Date.now() - this.startedAt;
  }

  private issue(now: number): void {
    const { options } = this;
    const channel: Channel = Math.random() < options.httpShare ? 'http' : 'library';
    const cancel = Math.random() < options.cancelShare;
    const id = this.operations.length;
    if (channel === 'http') {
      const target = cancel ? pick(this.httpAccepted) : undefined;
      const op = target ? this.httpCancel(id, now, target) : this.httpReservation(id, now);
      this.operations.push(op);
      void this.attemptHttp(op);
    } else {
      const target = cancel ? pick(this.libraryDelivered) : undefined;
      const op = target ? this.libraryCancel(id, now, target) : this.libraryReservation(id, now);
      this.operations.push(op);
      void this.attemptLibrary(op);
    }
  }

  private retryDue(now: number): void {
    for (const op of this.waiting) {
      if (op.nextAt === undefined || op.nextAt > now || op.inFlight) continue;
      op.nextAt = undefined;
      this.waiting.delete(op);
      this.stats.retries += 1;
      if (op.channel === 'http') void this.attemptHttp(op);
      else void this.attemptLibrary(op);
    }
  }

  /**
   * A period of 1–3 hours starting on the hour within the booking window (`slotDays` days, one day later
   * every `windowSlideMs`), quantity 1–2, on a random resource.
   */
  private period(): { resource: ChaosResource; start: number; end: number; quantity: number } {
    const resource = pick(this.env.resources) as ChaosResource;
    const hours = this.options.slotDays * 24;
    const length = 1 + Math.floor(Math.random() * 3);
    const windowStart = this.base + Math.floor(this.elapsedMs / this.options.windowSlideMs) * DAY;
    const start = windowStart + Math.floor(Math.random() * (hours - length)) * HOUR;
    return { resource, start, end: start + length * HOUR, quantity: 1 + Math.floor(Math.random() * 2) };
  }

  private customer(id: number) {
    return {
      id: `${this.env.runId}-c${id}`,
      fullName: `Chaos Customer ${id}`,
      email: `c${id}@${this.env.mailDomain}`,
    };
  }

  private httpReservation(id: number, now: number): HttpOperation {
    const { resource, start, end, quantity } = this.period();
    const customer = this.customer(id);
    return {
      channel: 'http',
      op: 'request',
      id,
      resourceId: resource.id,
      customerId: customer.id,
      firstAt: now,
      attempts: [],
      nextAt: undefined,
      inFlight: false,
      idempotencyKey: `${this.env.runId}-h${id}`,
      path: '/reservations',
      body: {
        resourceId: resource.id,
        start: new Date(start).toISOString(),
        end: new Date(end).toISOString(),
        quantity,
        customer,
      },
      wait: Math.random() < this.options.waitShare,
      reservationId: undefined,
      commandId: undefined,
      answeredStatus: undefined,
    };
  }

  private httpCancel(id: number, now: number, target: HttpOperation): HttpOperation {
    return {
      channel: 'http',
      op: 'cancel',
      id,
      resourceId: target.resourceId,
      customerId: target.customerId,
      firstAt: now,
      attempts: [],
      nextAt: undefined,
      inFlight: false,
      idempotencyKey: `${this.env.runId}-h${id}`,
      path: `/reservations/${target.reservationId}/cancel`,
      body: { reason: 'chaos' },
      wait: Math.random() < this.options.waitShare,
      reservationId: target.reservationId,
      commandId: undefined,
      answeredStatus: undefined,
    };
  }

  private libraryReservation(id: number, now: number): LibraryOperation {
    const { resource, start, end, quantity } = this.period();
    const customer = this.customer(id);
    const command = this.builder.requestReservation({
      resourceId: resource.id,
      customer,
      start,
      end,
      quantity,
    });
    return {
      channel: 'library',
      op: 'request',
      id,
      resourceId: resource.id,
      customerId: customer.id,
      firstAt: now,
      attempts: [],
      nextAt: undefined,
      inFlight: false,
      command,
    };
  }

  private libraryCancel(id: number, now: number, target: LibraryOperation): LibraryOperation {
    const requested = target.command;
    if (requested.type !== 'RequestReservation') throw new Error('only requests are cancelled');
    const command = this.builder.cancelReservation({
      resourceId: requested.resourceId,
      reservationId: requested.reservationId,
      customerId: requested.customer.id,
      reason: 'chaos',
    });
    return {
      channel: 'library',
      op: 'cancel',
      id,
      resourceId: requested.resourceId,
      customerId: requested.customer.id,
      firstAt: now,
      attempts: [],
      nextAt: undefined,
      inFlight: false,
      command,
    };
  }

  private async attemptHttp(op: HttpOperation): Promise<void> {
    op.inFlight = true;
    this.inFlight += 1;
    this.stats.attempts += 1;
    const at = Date.now();
    let outcome: AttemptOutcome;
    let status = 0;
    let code: string | undefined;
    let retryAfterMs: number | undefined;
    try {
      const answer = await this.post(op);
      status = answer.status;
      code = typeof answer.body.code === 'string' ? answer.body.code : undefined;
      retryAfterMs = answer.retryAfterMs;
      outcome = this.judgeHttp(op, answer);
    } catch (error) {
      code = (error as NodeJS.ErrnoException).code ?? (error as Error).name;
      // A refused connection carried no request; a reset, a timeout or a socket closed mid-answer may have.
      outcome = code === 'ECONNREFUSED' ? 'refused' : 'unknown';
    }
    op.attempts.push({ at, ms: Date.now() - at, outcome, status, ...(code ? { code } : {}) });
    this.inFlight -= 1;
    op.inFlight = false;
    // An accepted operation is never sent again, so this happens once per operation.
    if (outcome === 'accepted' && op.op === 'request' && op.reservationId) this.httpAccepted.push(op);
    // Re-send after an unknown outcome, a "not sent" 503, a refused connection or a rate limit, like a client
    // would; a refusal for what the request is (a 404: no such reservation yet) ends it, unknown or not.
    const again = outcome === 'unknown' || status === 503 || status === 429 || status === 0;
    if (again && Date.now() - op.firstAt < this.options.retryWindowMs) {
      this.schedule(op, Math.min(5_000, Math.max(500, retryAfterMs ?? 1_000)));
    }
  }

  private schedule(op: Operation, delayMs: number): void {
    op.nextAt = Date.now() + delayMs;
    this.waiting.add(op);
  }

  /** Classifies one HTTP answer, and keeps the ids it names. */
  private judgeHttp(op: HttpOperation, answer: HttpAnswer): AttemptOutcome {
    const { status, body } = answer;
    if (status === 201 || status === 202 || (status === 200 && op.op === 'cancel')) {
      op.answeredStatus ??= status;
      if (op.op === 'request') op.reservationId ??= status === 201 ? body.id : body.reservationId;
      if (status === 202 && typeof body.commandId === 'string') op.commandId ??= body.commandId;
      return 'accepted';
    }
    if (status === 409 && body.code === 'RESERVATION_REJECTED') {
      op.answeredStatus ??= status;
      op.commandId ??= body.details?.commandId;
      op.reservationId ??= body.details?.reservationId;
      return 'rejected';
    }
    if (status === 409 && body.code === 'IDEMPOTENCY_KEY_IN_USE') return 'unknown';
    if (status === 503) return body.details?.outcome === 'not-sent' ? 'refused' : 'unknown';
    if (status >= 500) return 'unknown';
    return 'refused';
  }

  private post(op: HttpOperation): Promise<HttpAnswer> {
    const payload = JSON.stringify(op.body);
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        {
          agent: this.agent,
          host: this.api.hostname,
          port: this.api.port,
          method: 'POST',
          path: op.path,
          timeout: HTTP_TIMEOUT_MS,
          headers: {
            authorization: `Bearer ${this.env.keys.producer}`,
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(payload),
            'idempotency-key': op.idempotencyKey,
            ...(op.wait ? { prefer: 'wait=2' } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let body: Record<string, unknown> = {};
            try {
              body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
            } catch {
              body = { unparsed: text.slice(0, 200) };
            }
            const retryAfter = Number(res.headers['retry-after']);
            resolve({
              status: res.statusCode ?? 0,
              retryAfterMs: Number.isFinite(retryAfter) ? retryAfter * 1000 : undefined,
              body,
            });
          });
        },
      );
      req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
      req.on('error', reject);
      req.end(payload);
    });
  }

  private async attemptLibrary(op: LibraryOperation): Promise<void> {
    op.inFlight = true;
    this.inFlight += 1;
    this.stats.attempts += 1;
    const at = Date.now();
    let outcome: AttemptOutcome;
    let code: string | undefined;
    try {
      await this.producer.send(op.command);
      outcome = 'accepted';
    } catch (error) {
      code = String((error as { code?: unknown }).code ?? (error as Error).name);
      outcome = code === 'DELIVERY_UNKNOWN' ? 'unknown' : 'refused';
    }
    op.attempts.push({ at, ms: Date.now() - at, outcome, ...(code ? { code } : {}) });
    this.inFlight -= 1;
    op.inFlight = false;
    if (outcome === 'accepted' && op.op === 'request') this.libraryDelivered.push(op);
    if (finalOutcome(op) === 'unknown' && Date.now() - op.firstAt < this.options.retryWindowMs) {
      this.schedule(op, 1_000);
    }
  }
}

function pick<T>(items: readonly T[]): T | undefined {
  return items.length === 0 ? undefined : items[Math.floor(Math.random() * items.length)];
}
