export * from './create-run.js';
export * from './queue-names.js';
export * from './redis-connection.js';
export * from './run-flow.js';
export * from './run-registry.js';
export * from './run-request.js';
export * from './schedules.js';
