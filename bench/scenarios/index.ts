// Every scenario `mini-cdn bench` knows, in the order a full run takes them.
import type { Scenario } from '../types.js';
import { hitLarge, hitSmall } from './hit.js';
import { miss } from './miss.js';
import { mixed } from './mixed.js';
import { originOutage } from './origin-outage.js';
import { partition } from './partition.js';
import { purgePropagation } from './purge-propagation.js';
import { redisOutage } from './redis-outage.js';
import { slowReaders } from './slow-readers.js';
import { stampede } from './stampede.js';

export const SCENARIOS: Scenario[] = [hitSmall, hitLarge, miss, mixed, stampede, purgePropagation, redisOutage, partition, originOutage, slowReaders];

/** The scenarios that load with wrk when it is installed. */
export const HIT_SCENARIOS: readonly string[] = [hitSmall.name, hitLarge.name];
