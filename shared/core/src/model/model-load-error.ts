/** A model that cannot be used, with the file or layer at fault and what to do about it. */
export class ModelLoadError extends Error {
  readonly file: string | undefined;
  readonly layers: string[];

  constructor(message: string, where: { file?: string; layers?: string[] } = {}) {
    super(message);
    this.name = 'ModelLoadError';
    this.file = where.file;
    this.layers = where.layers ?? [];
  }
}
