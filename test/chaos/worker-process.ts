/**
 * One Slotstream worker as its own child process, started exactly as ops/workers.sh starts it
 * (`node --import tsx <entry> [args]` from the repository root), with the environment of the chaos run.
 * It can be killed with SIGKILL and started again; every start waits until its /healthz answers 200. An exit
 * nobody asked for is recorded and, like a supervisor would, answered by a restart after a second.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { sleep } from './sleep.ts';

/** An exit of the worker that the harness did not cause. */
export interface UnplannedExit {
  readonly worker: string;
  readonly at: number;
  readonly code: number | null;
  readonly signal: string | null;
}

export interface WorkerSpec {
  /** e.g. `processor`, `sink-payment`, `api` (the names of ops/workers.sh). */
  readonly name: string;
  /** Arguments after `node`, e.g. `['--import', 'tsx', 'sinks/run.ts', 'payment']`. */
  readonly args: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  readonly healthUrl: string;
  readonly logFile: string;
  readonly cwd: string;
}

/** A worker that keeps dying is left down after this many restarts by the supervisor. */
const MAX_UNPLANNED_RESTARTS = 20;

export class WorkerProcess {
  readonly unplannedExits: UnplannedExit[] = [];
  /** Starts, including restarts. */
  starts = 0;
  private child: ChildProcess | undefined;
  private expectingExit = false;
  private supervising = true;
  private restarting: Promise<void> | undefined;

  constructor(
    readonly spec: WorkerSpec,
    private readonly onPidChange: () => void,
    private readonly log: (line: string) => void,
  ) {}

  get name(): string {
    return this.spec.name;
  }

  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Spawns the process and waits until /healthz answers 200; returns the milliseconds that took. */
  async start(timeoutMs = 120_000): Promise<number> {
    if (this.running) return 0;
    const started = Date.now();
    const out = openSync(this.spec.logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(process.execPath, [...this.spec.args], {
        cwd: this.spec.cwd,
        env: this.spec.env,
        stdio: ['ignore', out, out],
      });
    } finally {
      closeSync(out);
    }
    this.child = child;
    this.starts += 1;
    this.expectingExit = false;
    this.onPidChange();
    child.once('exit', (code, signal) => {
      this.onPidChange();
      if (this.expectingExit || this.child !== child) return;
      this.unplannedExits.push({ worker: this.name, at: Date.now(), code, signal });
      this.log(`  ! ${this.name} exited on its own (code ${code}, signal ${signal})`);
      if (this.supervising && this.unplannedExits.length <= MAX_UNPLANNED_RESTARTS) {
        const restart = (async () => {
          await sleep(1_000);
          if (this.supervising && !this.running) await this.start();
        })().catch((error: unknown) => {
          this.log(`  ! ${this.name} did not come back: ${(error as Error).message}`);
        });
        this.restarting = restart;
        void restart.finally(() => {
          if (this.restarting === restart) this.restarting = undefined;
        });
      }
    });
    await this.waitHealthy(timeoutMs);
    return Date.now() - started;
  }

  /** kill -9; resolves once the process is gone. */
  async kill9(): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    this.expectingExit = true;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }

  /** Stops for good (no more supervision): SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 5_000): Promise<void> {
    this.supervising = false;
    await this.restarting?.catch(() => undefined);
    const child = this.child;
    if (!child || !this.running) return;
    this.expectingExit = true;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    try {
      await exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Kills at once, synchronously (process exit handlers). */
  killNow(): void {
    this.supervising = false;
    this.expectingExit = true;
    if (this.running) this.child?.kill('SIGKILL');
  }

  /** Waits until /healthz answers 200 (through a restart by the supervisor, if one is under way). */
  async waitHealthy(timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!this.running) {
        if (this.restarting) {
          await this.restarting;
          if (this.running) continue;
        }
        throw new Error(
          `${this.name} exited before it was healthy; log ${this.spec.logFile}:\n${this.tail()}`,
        );
      }
      try {
        const res = await fetch(this.spec.healthUrl, { signal: AbortSignal.timeout(2_000) });
        await res.body?.cancel();
        if (res.status === 200) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        throw new Error(
          `${this.name} not healthy after ${timeoutMs} ms; log ${this.spec.logFile}:\n${this.tail()}`,
        );
      }
      await sleep(250);
    }
  }

  /** The last lines of the worker's log. */
  tail(lines = 15): string {
    try {
      return readFileSync(this.spec.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }
}
