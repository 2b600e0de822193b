export * from './schedule.js';
export * from './forward.js';
export * from './kinds.js';
export * from './stream.js';
