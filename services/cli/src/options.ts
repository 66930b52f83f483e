import { InvalidArgumentError } from 'commander';

export function intOption(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`expected an integer from ${min} to ${max}`);
    return n;
  };
}

export function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number');
  return n;
}

/** "0.286" or "0.485,0.456,0.406" */
export function numberList(value: string): number[] {
  const list = value.split(',').map(Number);
  if (list.length === 0 || list.some((n) => !Number.isFinite(n)))
    throw new InvalidArgumentError('expected comma-separated numbers');
  return list;
}
