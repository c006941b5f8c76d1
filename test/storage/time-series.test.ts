import { TIME_SERIES_BACKENDS } from './backends.js';
import { timeSeriesConformance } from './time-series-conformance.js';

for (const backend of TIME_SERIES_BACKENDS) timeSeriesConformance(backend.name, backend.open);
