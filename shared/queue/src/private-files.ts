/**
 * The umask of a service holding tenants' files (models, synthetic images, runs): files 0600,
 * folders 0700. Synthetic images are a model-inversion product, as private as the model.
 */
export const PRIVATE_UMASK = 0o077;
