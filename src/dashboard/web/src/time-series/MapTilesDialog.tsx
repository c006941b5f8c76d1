import { useState } from 'react';
import { Dialog, ErrorMessage, Field, useAction } from '../ui.js';
import { SubmitActions } from '../widgets.js';
import { mapApi, type MapSettings } from './map-api.js';

/** Sets the tile server of the Endpoint Location map for every operator (`dashboard.map`). */
export function MapTilesDialog({ settings, onClose, onSaved }: { settings: MapSettings; onClose: () => void; onSaved: (s: MapSettings) => void }) {
  const [tileUrl, setTileUrl] = useState(settings.tileUrl);
  const [attribution, setAttribution] = useState(settings.attribution);
  const save = useAction();
  return (
    <Dialog title="Map tiles" onClose={onClose} wide>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          void save.run(async () => onSaved(await mapApi.save({ tileUrl: tileUrl.trim(), attribution: attribution.trim() })));
        }}
      >
        <p className="hint">
          A tile URL template such as <code>https://tiles.example.com/{'{z}/{x}/{y}'}.png</code> (<code>{'{s}'}</code> subdomains are allowed). Leave it empty to draw tracks on a
          plain background, as offline sites must; the track is drawn there whenever tiles cannot load. Check the tile provider's usage policy and give its attribution. Saving a new tile server reloads the page, whose security policy must name it; other open dashboards use it after their next reload.
        </p>
        <Field label="Tile URL">{(id) => <input id={id} value={tileUrl} placeholder="empty: no map tiles" onChange={(e) => setTileUrl(e.target.value)} />}</Field>
        <Field label="Attribution">{(id) => <input id={id} value={attribution} placeholder="© the map data's owners" onChange={(e) => setAttribution(e.target.value)} />}</Field>
        <ErrorMessage error={save.error} />
        <SubmitActions onCancel={onClose} disabled={save.busy}>
          Save map tiles
        </SubmitActions>
      </form>
    </Dialog>
  );
}
