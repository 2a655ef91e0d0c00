/**
 * Runs the planned faults one after the other while the load goes on: each at its time (or as soon as the
 * previous one has recovered), each waited on until every worker answers /healthz again. A worker is killed
 * with SIGKILL and started again after `workerDownMs`; the broker is stopped (SIGTERM, or SIGKILL) and
 * started again on its data after `brokerDownMs`.
 */
import type { ChaosEnvironment, WorkerName } from './environment.ts';
import type { ChaosOptions, FaultKind, PlannedFault } from './options.ts';
import { sleep } from './sleep.ts';

/** What happened when a fault ran. */
export interface FaultRecord {
  readonly kind: FaultKind;
  readonly plannedAtMs: number;
  /** When it started, ms from the start of the load. */
  readonly atMs: number;
  /** When it started (epoch ms), to set beside other clocks (Mailpit's, the logs'). */
  readonly at: number;
  /** From the fault to the process (or broker) being back and healthy. */
  readonly recoveredMs: number;
  /** From the fault to every worker answering /healthz. */
  readonly allHealthyMs: number;
  readonly error?: string;
}

export class FaultRunner {
  readonly records: FaultRecord[] = [];

  constructor(
    private readonly env: ChaosEnvironment,
    private readonly options: ChaosOptions,
  ) {}

  /** Runs every planned fault (until `signal` aborts); `elapsed` gives the ms since the load started. */
  async run(faults: readonly PlannedFault[], elapsed: () => number, signal?: AbortSignal): Promise<void> {
    for (const fault of faults) {
      await sleep(fault.atMs - elapsed(), signal);
      if (signal?.aborted) return;
      const atMs = elapsed();
      const started = Date.now();
      let recoveredMs = 0;
      let error: string | undefined;
      try {
        await this.inject(fault.kind);
        recoveredMs = Date.now() - started;
        await this.env.allHealthy();
      } catch (e) {
        error = (e as Error).message;
      }
      const record: FaultRecord = {
        kind: fault.kind,
        plannedAtMs: fault.atMs,
        atMs,
        at: started,
        recoveredMs,
        allHealthyMs: Date.now() - started,
        ...(error ? { error } : {}),
      };
      this.records.push(record);
      this.options.log(
        `  t=${(atMs / 1000).toFixed(1)}s ${fault.kind}: back in ${recoveredMs} ms, all healthy in ${record.allHealthyMs} ms` +
          (error ? ` — FAILED: ${error.split('\n')[0]}` : ''),
      );
    }
  }

  private async inject(kind: FaultKind): Promise<void> {
    const broker = this.env.broker;
    switch (kind) {
      case 'restart broker (graceful)':
        if (!broker) throw new Error('no broker');
        await broker.restart('graceful', this.options.brokerDownMs);
        this.env.updateGuard();
        return;
      case 'restart broker (kill -9)':
        if (!broker) throw new Error('no broker');
        await broker.restart('kill', this.options.brokerDownMs);
        this.env.updateGuard();
        return;
      default: {
        const worker = this.env.worker(kind.replace(/^kill /, '') as WorkerName);
        await worker.kill9();
        await sleep(this.options.workerDownMs);
        await worker.start();
      }
    }
  }
}
