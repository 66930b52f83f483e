export { buildApi } from './app.js';
export { type ApiConfig, assertSafeConfig, configFromEnv, parseTokens } from './config.js';
export { type RunningApi, startApi } from './start.js';
