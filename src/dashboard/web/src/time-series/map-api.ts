import { request } from '../api.js';
import type { MapSettings } from '../../../server/model.js';

export type { MapSettings };

export const mapApi = {
  get: () => request<MapSettings>('GET', '/dashboard/api/map'),
  save: (settings: MapSettings) => request<MapSettings>('PUT', '/dashboard/api/map', settings),
};
