/** Where a tenant's models, runs and trained generators live in the artifact store (API and workers alike). */
export const modelPrefix = (tenant: string, modelId: string) => `${tenant}/models/${modelId}`;
export const modelKey = (tenant: string, modelId: string) => `${modelPrefix(tenant, modelId)}/model.json`;
/** Generators trained on a tenant's model (the workers' generator cache for it). */
export const generatorPrefix = (tenant: string, modelId: string) => `${tenant}/generators/${modelId}`;
export const runPrefix = (tenant: string, runId: string) => `${tenant}/runs/${runId}`;

/** The model id inside a model key (`<tenant>/models/<modelId>/model.json`), or null for another layout. */
export function modelIdOf(key: string): string | null {
  const parts = key.split('/');
  return parts.length === 4 && parts[1] === 'models' ? (parts[2] ?? null) : null;
}
