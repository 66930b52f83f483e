export { generatorPrefix, modelIdOf, modelKey, modelPrefix, runPrefix } from '@dfq/queue';
