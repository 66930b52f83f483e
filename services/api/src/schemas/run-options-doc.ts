import { runOptionsSchema } from '@dfq/contract';
import { z } from 'zod';

/**
 * The run options as OpenAPI shows them, derived from the zod schema that validates them. Only
 * for documentation: validation stays with zod, so clients get zod's messages.
 */
export const runOptionsDoc: Record<string, unknown> = {
  ...z.toJSONSchema(runOptionsSchema, { io: 'input', target: 'openapi-3.0' }),
  description: 'Run options; every field is optional and defaults as shown.',
};
