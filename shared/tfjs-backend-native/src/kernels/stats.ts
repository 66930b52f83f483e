// Counts, per kernel, the calls served by oneDNN and those handed to the cpu kernel, so that tests and
// profiling can see whether a workload really runs natively.
export interface KernelCounts {
  native: number;
  cpu: number;
}

const counts = new Map<string, KernelCounts>();

export function countCall(kernelName: string, servedNatively: boolean): void {
  let entry = counts.get(kernelName);
  if (entry === undefined) {
    entry = { native: 0, cpu: 0 };
    counts.set(kernelName, entry);
  }
  if (servedNatively) entry.native++;
  else entry.cpu++;
}

export function kernelStats(): Record<string, KernelCounts> {
  return Object.fromEntries([...counts].map(([name, c]) => [name, { ...c }]));
}

export function resetKernelStats(): void {
  counts.clear();
}
