import { Transform } from 'node:stream';
import { tooLarge } from '../http-error.js';

/**
 * A running total shared by every stream of one upload, so many small parts (or an archive that
 * expands) cannot get past a limit meant for the whole model.
 */
export class ByteBudget {
  private used = 0;

  constructor(
    readonly limit: number,
    private readonly describe: (limit: number) => string,
  ) {}

  take(bytes: number): void {
    this.used += bytes;
    if (this.used > this.limit) throw tooLarge(this.describe(this.limit));
  }

  /** A pass-through stream that fails as soon as the budget is exceeded. */
  meter(): Transform {
    return new Transform({
      transform: (chunk: Buffer, _encoding, done) => {
        try {
          this.take(chunk.length);
          done(null, chunk);
        } catch (err) {
          done(err as Error);
        }
      },
    });
  }
}

export const uploadLimitMessage = (limit: number) =>
  `upload exceeds the limit of ${limit} bytes (DFQ_MAX_UPLOAD_BYTES)`;

export const expandedLimitMessage = (limit: number) =>
  `archive expands to more than the limit of ${limit} bytes (DFQ_MAX_UPLOAD_BYTES)`;
