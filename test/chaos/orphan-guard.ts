/**
 * Kills the chaos run's child processes if the harness dies without cleaning up (kill -9 of the test
 * runner): a small detached shell watches the harness's pid and, once it is gone, kills the pids listed in
 * a file that the harness rewrites whenever a child starts or exits. Normal exits stop the guard first.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';

export class OrphanGuard {
  private readonly watcher: ChildProcess;

  constructor(private readonly pidFile: string) {
    writeFileSync(pidFile, '');
    const script =
      `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; ` +
      `[ -f "$1" ] && xargs -r kill -9 < "$1" 2>/dev/null; rm -f "$1"`;
    this.watcher = spawn('bash', ['-c', script, 'chaos-orphan-guard', pidFile], {
      detached: true,
      stdio: 'ignore',
    });
    this.watcher.unref();
  }

  /** The pids to kill if the harness dies. */
  update(pids: readonly (number | undefined)[]): void {
    const alive = pids.filter((p): p is number => p !== undefined);
    try {
      writeFileSync(this.pidFile, alive.map((p) => `${p}\n`).join(''));
    } catch {
      // the run is being torn down
    }
  }

  stop(): void {
    this.watcher.kill('SIGKILL');
    rmSync(this.pidFile, { force: true });
  }
}
