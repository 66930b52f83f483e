// Picks oneDNN's thread count from the load that other processes put on the machine.
//
// OpenMP threads meet at barriers inside every primitive. When another process keeps a core busy, the
// thread scheduled on that core keeps losing it, and the others wait for it at each barrier: measured on
// a 2-core machine, two threads then ran a 3x3 convolution at ~15 GFLOP/s where one thread ran it at
// ~180 (and two threads on an idle machine at ~350). So while other processes use about a core or more,
// use one thread fewer per busy core.
import { existsSync, readFileSync } from 'node:fs';

const SAMPLE_INTERVAL_MS = 500;

interface Sample {
  wallMs: number;
  ownCpuMs: number;
  machineBusy: number;
  machineTotal: number;
}

interface MachineTimes {
  busy: number;
  total: number;
  cpus: number;
  /** Threads runnable right now, this one included. */
  running: number;
}

/** Aggregate CPU time from /proc/stat (in clock ticks), or null where there is none. */
function readMachineTimes(): MachineTimes | null {
  try {
    const stat = readFileSync('/proc/stat', 'utf8');
    const fields = stat.slice(0, stat.indexOf('\n')).trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already inside user)
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = fields;
    const busy = user + nice + system + irq + softirq + steal;
    const cpus = stat.match(/^cpu\d+ /gm)?.length ?? 1;
    const running = Number(/^procs_running (\d+)/m.exec(stat)?.[1] ?? 1);
    return { busy, total: busy + idle + iowait, cpus, running };
  } catch {
    return null;
  }
}

export class ThreadGovernor {
  private pinned: number | null;
  private current: number;
  private last: Sample | null = null;
  private readonly enabled = existsSync('/proc/stat');

  /**
   * @param maxThreads the most threads to use (OpenMP's default: OMP_NUM_THREADS or one per core)
   * @param apply sets the thread count in the addon
   * @param pinned a fixed count, or null to follow the load
   */
  constructor(
    private readonly maxThreads: number,
    private readonly apply: (threads: number) => void,
    pinned: number | null,
  ) {
    this.pinned = pinned;
    this.current = pinned ?? maxThreads;
  }

  get mode(): 'auto' | 'fixed' {
    return this.pinned === null ? 'auto' : 'fixed';
  }

  /** Fixes the thread count, or (null) returns to following the load. */
  pin(threads: number | null): void {
    this.pinned = threads;
    this.last = null;
    this.set(threads ?? this.maxThreads);
  }

  /** Called before native work; re-samples the load at most every SAMPLE_INTERVAL_MS. */
  tick(): void {
    if (this.pinned !== null || !this.enabled || this.maxThreads === 1) return;
    const wallMs = performance.now();
    if (this.last !== null && wallMs - this.last.wallMs < SAMPLE_INTERVAL_MS) return;
    const machine = readMachineTimes();
    if (machine === null) return;
    const usage = process.cpuUsage();
    const sample = {
      wallMs,
      ownCpuMs: (usage.user + usage.system) / 1000,
      machineBusy: machine.busy,
      machineTotal: machine.total,
    };
    const previous = this.last;
    this.last = sample;
    if (previous === null) {
      // No interval to average over yet: guess from the threads runnable now, besides this one.
      this.set(this.threadsBeside(machine.cpus, machine.running - 1));
      return;
    }
    if (sample.machineTotal <= previous.machineTotal) return;
    // Cores kept busy by everything, minus those this process used (its own OpenMP threads included).
    const busyCores =
      ((sample.machineBusy - previous.machineBusy) / (sample.machineTotal - previous.machineTotal)) *
      machine.cpus;
    const ownCores = (sample.ownCpuMs - previous.ownCpuMs) / (sample.wallMs - previous.wallMs);
    this.set(this.threadsBeside(machine.cpus, busyCores - ownCores));
  }

  /** One thread per core that other processes leave free, within [1, maxThreads]. */
  private threadsBeside(cpus: number, othersCores: number): number {
    return Math.max(1, Math.min(this.maxThreads, cpus - Math.round(Math.max(0, othersCores))));
  }

  private set(threads: number): void {
    if (threads === this.current) return;
    this.current = threads;
    this.apply(threads);
  }
}
