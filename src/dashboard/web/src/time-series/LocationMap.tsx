import L from 'leaflet';
import 'leaflet/dist/leaflet.css';
import { useEffect, useRef } from 'react';
import type { TrackPoint } from './points.js';

export interface MapTiles {
  /** Leaflet tile URL template (`https://tile.example/{z}/{x}/{y}.png`); empty: no tiles. */
  tileUrl: string;
  attribution: string;
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * The Endpoint Location map: the track as a line and the latest position as a marker, drawn by
 * Leaflet as SVG over optional map tiles. Without a tile URL, or when the tiles cannot load
 * (offline sites), the track is drawn all the same on the plain map background.
 */
export function LocationMap({ track, tiles, label }: { track: readonly TrackPoint[]; tiles: MapTiles; label: string }) {
  const holder = useRef<HTMLDivElement>(null);
  const map = useRef<L.Map>(undefined);
  const layers = useRef<{ line: L.Polyline; start: L.CircleMarker; latest: L.CircleMarker }>(undefined);
  // Until the operator pans or zooms, the view follows the whole track; after that it stays put
  // (only panning to the latest position when it leaves the view) until "Fit track".
  const userMoved = useRef(false);

  useEffect(() => {
    const el = holder.current;
    if (!el) return;
    const m = L.map(el, { zoomControl: true, attributionControl: true, worldCopyJump: true }).setView([0, 0], 2);
    m.attributionControl.setPrefix(false);
    const line = L.polyline([], { color: '#0072b2', weight: 3, opacity: 0.85 }).addTo(m);
    const start = L.circleMarker([0, 0], { radius: 4, color: '#5b6778', weight: 2, fillColor: '#fff', fillOpacity: 1 });
    const latest = L.circleMarker([0, 0], { radius: 7, color: '#fff', weight: 2, fillColor: '#d55e00', fillOpacity: 1 });
    L.control.scale({ imperial: false }).addTo(m);
    m.on('dragstart', () => (userMoved.current = true));
    el.addEventListener('wheel', () => (userMoved.current = true), { passive: true });
    m.zoomControl.getContainer()?.addEventListener('click', () => (userMoved.current = true));
    map.current = m;
    layers.current = { line, start, latest };
    // Leaflet measures its container once; a layout change (phone rotation, sidebar) needs a nudge.
    const resize = new ResizeObserver(() => m.invalidateSize());
    resize.observe(el);
    return () => {
      resize.disconnect();
      m.remove();
      map.current = undefined;
      layers.current = undefined;
    };
  }, []);

  useEffect(() => {
    const m = map.current;
    if (!m || !tiles.tileUrl) return;
    const layer = L.tileLayer(tiles.tileUrl, {
      maxZoom: 19,
      attribution: escapeHtml(tiles.attribution),
      crossOrigin: false,
    }).addTo(m);
    return () => {
      layer.remove();
    };
  }, [tiles.tileUrl, tiles.attribution]);

  useEffect(() => {
    const m = map.current;
    const l = layers.current;
    if (!m || !l) return;
    const latlngs = track.map((p) => L.latLng(p.lat, p.lon));
    l.line.setLatLngs(latlngs);
    const first = latlngs[0];
    const last = latlngs[latlngs.length - 1];
    if (!first || !last) {
      l.start.remove();
      l.latest.remove();
      return;
    }
    l.start.setLatLng(first).addTo(m);
    l.latest.setLatLng(last).addTo(m).bringToFront();
    if (!userMoved.current) {
      if (latlngs.length === 1) m.setView(last, 14, { animate: false });
      else m.fitBounds(L.latLngBounds(latlngs), { padding: [24, 24], maxZoom: 16, animate: false });
    } else if (!m.getBounds().contains(last)) {
      m.panTo(last);
    }
  }, [track]);

  const fit = () => {
    const m = map.current;
    if (!m || track.length === 0) return;
    userMoved.current = false;
    m.fitBounds(L.latLngBounds(track.map((p) => L.latLng(p.lat, p.lon))), { padding: [24, 24], maxZoom: 16 });
  };

  return (
    <div className="ts-map-wrap">
      <div ref={holder} className={tiles.tileUrl ? 'ts-map' : 'ts-map ts-map-plain'} role="region" aria-label={label} data-testid="location-map" />
      <button type="button" className="secondary ts-map-fit" onClick={fit} disabled={track.length === 0}>
        Fit track
      </button>
    </div>
  );
}
