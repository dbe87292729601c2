// The HTTP caching policy of mini-cdn: pure functions of header maps and times passed in.
export * from './fields.js';
export * from './structured-fields.js';
export * from './cache-control.js';
export * from './dates.js';
export * from './age.js';
export * from './freshness.js';
export * from './vary.js';
export * from './storable.js';
export * from './cookie-sharing.js';
export * from './reuse.js';
export * from './conditional.js';
export * from './update.js';
export * from './hop-by-hop.js';
export * from './invalidation.js';
export * from './cache-status.js';
export * from './ranges.js';
export * from './multipart.js';
