/**
 * One load run: optional resource setup, an open-loop schedule of RequestReservation commands (through the
 * producer library or the HTTP API), and the decisions read back from the events topic (read_committed)
 * when a decider is running. Latency is measured from when a request was due, not when it left, so a
 * stalled client does not hide its stall (no coordinated omission).
 */
import { randomUUID } from 'node:crypto';
import { Agent, request as httpRequest } from 'node:http';
import type { Consumer, EachMessagePayload } from 'kafkajs';
import type { Logger } from 'pino';
import type { Config } from '../../common/config.ts';
import { createKafka } from '../../common/kafka.ts';
import { MessageCodec } from '../../schemas/codec.ts';
import type { Command, RequestReservation } from '../../schemas/generated/types.ts';
import { CommandBuilder } from '../commands.ts';
import { outcomeOf } from '../errors.ts';
import { CommandProducer } from '../producer.ts';
import type { LoadOptions } from './options.ts';
import { Latencies, type LatencySummary, Tally } from './stats.ts';

export const LOAD_SOURCE = '/slotstream/load';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export interface Progress {
  readonly elapsedMs: number;
  readonly durationMs: number;
  readonly phase: 'setup' | 'offering' | 'draining' | 'settling';
  readonly offered: number;
  readonly accepted: number;
  readonly refused: number;
  readonly unknown: number;
  readonly errors: number;
  readonly inFlight: number;
  readonly held: number;
  readonly rejected: number;
}

export interface LoadSummary {
  readonly runId: string;
  readonly via: LoadOptions['via'];
  readonly offered: { readonly requests: number; readonly perSecond: number };
  /** Scheduled but not sent: the client had `maxInFlight` requests awaiting answers. */
  readonly notSent: number;
  /** Acknowledged by Kafka (acks=all), or answered 2xx by the API. */
  readonly accepted: { readonly requests: number; readonly perSecond: number };
  /** Refused before Kafka: HTTP status and code, or producer error code. */
  readonly refused: Record<string, number>;
  /**
   * Outcome unknown: handed to Kafka without an acknowledgement (DELIVERY_UNKNOWN), or answered 503
   * OUTCOME_UNKNOWN by the API. Each may be on the topic; re-sending the same command would tell.
   */
  readonly unknown: Record<string, number>;
  /** Failures without an answer (network, timeouts). */
  readonly errors: Record<string, number>;
  readonly latencyMs: LatencySummary | null;
  readonly decisions: {
    /** False when no decision was seen at all: the decider is probably not running. */
    readonly observed: boolean;
    readonly held: number;
    readonly rejected: Record<string, number>;
    readonly undecided: number;
    /** From when the request was due to when its decision was read. */
    readonly latencyMs: LatencySummary | null;
  };
  readonly offeringMs: number;
}

interface Deps {
  readonly config: Config;
  readonly logger: Logger;
  readonly onProgress?: (progress: Progress) => void;
  /** Stops offering early (Ctrl-C). */
  readonly signal?: AbortSignal;
}

/** POST over keep-alive sockets (node:http is far cheaper per request than fetch at thousands per second). */
function postJson(
  agent: Agent,
  url: URL,
  body: string,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          ...headers,
        },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () =>
      req.destroy(Object.assign(new Error('request timed out'), { name: 'TimeoutError' })),
    );
    req.on('error', reject);
    req.end(body);
  });
}

function pick(random: () => number, options: LoadOptions): number {
  if (options.resources === 1 || random() < options.hotShare) return 0;
  return 1 + Math.floor(random() * (options.resources - 1));
}

/** Reads this run's decisions from the events topic, from the offsets at start, read_committed. */
class DecisionReader {
  private consumer: Consumer | undefined;
  readonly decided = new Map<string, { held: boolean; reason: string | null; at: number }>();
  seen = 0;

  constructor(
    private readonly deps: Deps,
    private readonly keyPrefix: string,
    private readonly onDecision: (commandId: string) => void,
  ) {}

  async start(): Promise<void> {
    const { config, logger } = this.deps;
    const kafka = createKafka(config, logger, `${config.kafka.clientId}-load`);
    const codec = MessageCodec.fromConfig(config);
    const topic = codec.topics.events;
    const admin = kafka.admin();
    await admin.connect();
    const start = await admin.fetchTopicOffsets(topic);
    await admin.disconnect();
    this.consumer = kafka.consumer({
      groupId: `${config.kafka.topicPrefix}load-${randomUUID()}`,
      readUncommitted: false,
      maxWaitTimeInMs: 100,
    });
    await this.consumer.connect();
    await this.consumer.subscribe({ topic, fromBeginning: false });
    const joined = new Promise<void>((resolve) =>
      this.consumer?.on(this.consumer.events.GROUP_JOIN, () => resolve()),
    );
    await this.consumer.run({
      eachMessage: async ({ message }: EachMessagePayload) => {
        // Only this run's resources; everything else on the topic is skipped without decoding.
        if (!message.key?.toString().startsWith(this.keyPrefix)) return;
        const { message: event } = await codec.decodeEvent(message.value, message.headers);
        this.seen += 1;
        const commandId = event.causationCommandId;
        if (this.decided.has(commandId)) return;
        if (event.type === 'ReservationHeld' || event.type === 'ResourceUpserted') {
          this.decided.set(commandId, { held: true, reason: null, at: performance.now() });
        } else if (event.type === 'ReservationRejected' || event.type === 'ResourceChangeRejected') {
          this.decided.set(commandId, { held: false, reason: event.reason, at: performance.now() });
        } else return;
        this.onDecision(commandId);
      },
    });
    // Start where the topic ended before this run: nothing of ours can be earlier.
    for (const p of start) this.consumer.seek({ topic, partition: p.partition, offset: p.high });
    await Promise.race([joined, new Promise((r) => setTimeout(r, 30_000))]);
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect().catch(() => {});
  }
}

/** Runs the load and returns its summary; always stops by itself (bounded in count and time). */
export async function runLoad(options: LoadOptions, deps: Deps): Promise<LoadSummary> {
  const { config, logger } = deps;
  const runId = randomUUID().slice(0, 8);
  const keyPrefix = `load-${runId}-`;
  const resourceIds = Array.from({ length: options.resources }, (_, i) => `${keyPrefix}r${i}`);
  const builder = new CommandBuilder();
  const random = Math.random;
  const base = Math.ceil(Date.now() / DAY) * DAY + 60 * DAY;

  const sentAt = new Map<string, number>(); // commandId → when it was due
  const latencies = new Latencies();
  const decisionLatencies = new Latencies();
  const refused = new Tally();
  const unknown = new Tally();
  const errors = new Tally();
  let held = 0;
  const rejected = new Tally();
  let accepted = 0;
  let inFlight = 0;
  let offered = 0;
  let notSent = 0;
  let phase: Progress['phase'] = 'setup';

  const reader = new DecisionReader(deps, keyPrefix, (commandId) => {
    const due = sentAt.get(commandId);
    const decision = reader.decided.get(commandId);
    if (due === undefined || !decision) return;
    decisionLatencies.add(decision.at - due);
    if (decision.held) held += 1;
    else rejected.add(decision.reason ?? 'OTHER');
  });
  const producer = CommandProducer.fromConfig(config, logger, { source: LOAD_SOURCE, lingerMs: 2 });
  const started = performance.now();
  const progress = () =>
    deps.onProgress?.({
      elapsedMs: performance.now() - started,
      durationMs: options.durationMs,
      phase,
      offered,
      accepted,
      refused: refused.total,
      unknown: unknown.total,
      errors: errors.total,
      inFlight,
      held,
      rejected: rejected.total,
    });
  const ticker = setInterval(progress, 500);
  const agent = new Agent({ keepAlive: true, maxSockets: 128 });
  const reservationsUrl = new URL(`${options.apiUrl}/reservations`);

  try {
    await producer.connect();
    await reader.start();

    if (options.setup) {
      const upserts: Command[] = resourceIds.map((resourceId, i) =>
        builder.upsertResource({
          resourceId,
          actorId: 'load-generator',
          name: `Load ${runId} #${i}${i === 0 && options.hotShare > 0 ? ' (hot)' : ''}`,
          capacity: options.capacity,
          unitPrice: { amountMinor: 1_000, currency: 'EUR' },
        }),
      );
      for (let i = 0; i < upserts.length; i += 1_000) await producer.sendMany(upserts.slice(i, i + 1_000));
      // Wait until the decider has created them (or give up quietly if no decider answers).
      const ids = new Set(upserts.map((u) => u.commandId));
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline && [...ids].some((id) => !reader.decided.has(id))) {
        if (reader.seen === 0 && Date.now() > deadline - 20_000) break;
        await new Promise((r) => setTimeout(r, 100));
      }
    }

    // Open loop: request i is due at start + i / rate, sent then whatever the earlier ones are doing.
    phase = 'offering';
    const total = Math.floor((options.rate * options.durationMs) / 1000);
    const offerStart = performance.now();
    const settled: Promise<void>[] = [];
    const sendOne = async (command: RequestReservation, due: number) => {
      inFlight += 1;
      try {
        if (options.via === 'kafka') {
          await producer.send(command);
          accepted += 1;
          latencies.add(performance.now() - due);
        } else {
          const body = JSON.stringify({
            resourceId: command.resourceId,
            start: new Date(command.start).toISOString(),
            end: new Date(command.end).toISOString(),
            quantity: command.quantity,
            customer: {
              id: command.customer.id,
              fullName: command.customer.fullName,
              email: command.customer.email,
            },
          });
          const res = await postJson(
            agent,
            reservationsUrl,
            body,
            { authorization: `Bearer ${options.apiKey}` },
            30_000,
          );
          const text = res.text;
          if (res.status >= 200 && res.status < 300) {
            accepted += 1;
            latencies.add(performance.now() - due);
            const answer = JSON.parse(text) as { commandId?: string };
            if (answer.commandId) {
              sentAt.set(answer.commandId, due);
              if (reader.decided.has(answer.commandId)) {
                // decided before the answer arrived: account for it now
                const decision = reader.decided.get(answer.commandId);
                if (decision) {
                  decisionLatencies.add(decision.at - due);
                  if (decision.held) held += 1;
                  else rejected.add(decision.reason ?? 'OTHER');
                }
              }
            }
          } else {
            let code = '';
            try {
              code = (JSON.parse(text) as { code?: string }).code ?? '';
            } catch {}
            const label = `HTTP ${res.status}${code ? ` ${code}` : ''}`;
            if (code === 'OUTCOME_UNKNOWN') unknown.add(label);
            else refused.add(label);
          }
        }
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (options.via === 'kafka' && code) (outcomeOf(error) === 'unknown' ? unknown : refused).add(code);
        else
          errors.add(
            (error as Error).name === 'TimeoutError' ? 'timeout' : (code ?? (error as Error).message),
          );
      } finally {
        inFlight -= 1;
      }
    };

    while (offered + notSent < total && !deps.signal?.aborted) {
      const elapsed = performance.now() - offerStart;
      if (elapsed > options.durationMs + 1_000) break; // a stalled loop still ends on time
      const due = Math.min(total, Math.floor((elapsed * options.rate) / 1000) + 1);
      while (offered + notSent < due) {
        const i = offered + notSent;
        const dueAt = offerStart + (i * 1000) / options.rate;
        if (inFlight >= options.maxInFlight) {
          notSent += 1;
          continue;
        }
        const slot = Math.floor(random() * 24);
        const command = builder.requestReservation({
          resourceId: resourceIds[pick(random, options)] as string,
          customer: {
            id: `${keyPrefix}c${i % 10_000}`,
            fullName: `Load customer ${i % 10_000}`,
            email: `load${i % 10_000}@example.com`,
          },
          start: base + slot * HOUR,
          end: base + (slot + 1) * HOUR,
          quantity: options.quantity,
        });
        if (options.via === 'kafka') sentAt.set(command.commandId, dueAt);
        offered += 1;
        settled.push(sendOne(command, dueAt));
      }
      await new Promise((r) => setTimeout(r, 2));
    }
    const offeringMs = performance.now() - offerStart;

    phase = 'draining';
    await Promise.race([Promise.all(settled), new Promise((r) => setTimeout(r, 35_000))]);

    phase = 'settling';
    const settleDeadline = Date.now() + options.settleMs;
    let lastSeen = -1;
    let quietSince = Date.now();
    while (Date.now() < settleDeadline && held + rejected.total < sentAt.size) {
      if (reader.seen !== lastSeen) {
        lastSeen = reader.seen;
        quietSince = Date.now();
      } else if (reader.seen === 0 && Date.now() - quietSince > 5_000) break; // no decider: stop waiting
      await new Promise((r) => setTimeout(r, 100));
    }
    progress();

    return {
      runId,
      via: options.via,
      offered: { requests: offered + notSent, perSecond: ((offered + notSent) * 1000) / offeringMs },
      notSent,
      accepted: { requests: accepted, perSecond: (accepted * 1000) / offeringMs },
      refused: refused.toObject(),
      unknown: unknown.toObject(),
      errors: errors.toObject(),
      latencyMs: latencies.summary(),
      decisions: {
        observed: reader.seen > 0,
        held,
        rejected: rejected.toObject(),
        undecided: Math.max(0, accepted - held - rejected.total),
        latencyMs: decisionLatencies.summary(),
      },
      offeringMs,
    };
  } finally {
    clearInterval(ticker);
    agent.destroy();
    await reader.stop();
    await producer.disconnect();
  }
}
