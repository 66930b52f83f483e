import type { SandboxedJob } from 'bullmq';

/** The return value of a flow job's single child (the previous stage's artifact references). */
export async function onlyChildValue<T>(job: SandboxedJob): Promise<T> {
  const values = Object.values(await job.getChildrenValues<T>());
  if (values.length !== 1)
    throw new Error(`job ${job.id} expected one completed child, found ${values.length}`);
  return values[0] as T;
}
