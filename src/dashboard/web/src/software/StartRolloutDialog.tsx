import { useEffect, useState } from 'react';
import { api, type AppVersion } from '../api.js';
import { navigate } from '../router.js';
import { Dialog, ErrorMessage, Field, useAction } from '../ui.js';
import { Options, SubmitActions } from '../widgets.js';
import type { ListFilters } from '../list/selection.js';
import { queryOf, rolloutUrl, softwareApi, type NewRollout, type SoftwareRecord } from './software-api.js';

/** Where the dialog was opened from decides the targets it offers first. */
export type TargetPreset = { kind: 'list'; filters: ListFilters; count: number } | { kind: 'selected'; ids: string[] };

type TargetKind = 'app-version' | 'list' | 'selected' | 'ids';

const plural = (n: number) => `${n.toLocaleString('en')} endpoint${n === 1 ? '' : 's'}`;

function describeFilters(f: ListFilters): string {
  const parts: string[] = [];
  if (f.applicationVersionName) parts.push(`version ${f.applicationVersionName}`);
  if (f.search) parts.push(`search "${f.search}"`);
  if (f.connected !== undefined) parts.push(f.connected ? 'online' : 'offline');
  for (const x of f.filter ?? []) parts.push(x);
  return parts.length === 0 ? 'every endpoint of the application' : parts.join(', ');
}

/**
 * Starts a rollout: which version, to whom (an application version, the Endpoint List's current
 * search and filters, the selected endpoints, or IDs typed in), how fast, and when to stop.
 */
export function StartRolloutDialog({ app, version, preset, onClose }: { app: string; version?: string; preset?: TargetPreset; onClose: () => void }) {
  const [versions, setVersions] = useState<SoftwareRecord[]>();
  const [appVersions, setAppVersions] = useState<AppVersion[]>([]);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [chosen, setChosen] = useState(version ?? '');
  const [kind, setKind] = useState<TargetKind>(preset?.kind ?? 'app-version');
  const [appVersion, setAppVersion] = useState('');
  const [ids, setIds] = useState('');
  const [limited, setLimited] = useState(false);
  const [perMinute, setPerMinute] = useState('60');
  const [growth, setGrowth] = useState(false);
  const [factor, setFactor] = useState('2');
  const [every, setEvery] = useState('10');
  const [abortOn, setAbortOn] = useState(true);
  const [percent, setPercent] = useState('10');
  const [minAttempted, setMinAttempted] = useState('10');
  const [timeout, setTimeoutS] = useState('600');
  const action = useAction();

  useEffect(() => {
    Promise.all([softwareApi.list(app), api.versions(app)]).then(([s, v]) => {
      setVersions(s);
      setAppVersions(v);
      if (!version && s[0]) setChosen(s[0].version);
      if (v[0]) setAppVersion(v[0].name);
    }, setLoadError);
  }, [app, version]);

  const number = (label: string, text: string, min: number, max?: number): number => {
    const n = Number(text);
    if (text.trim() === '' || !Number.isFinite(n) || n < min || (max !== undefined && n > max)) throw new Error(`${label}: give a number from ${min}${max !== undefined ? ` to ${max}` : ' up'}.`);
    return n;
  };

  const start = () =>
    action.run(async () => {
      if (!chosen) throw new Error('Choose the version to roll out (create one first if there is none).');
      let target: NewRollout['target'];
      if (kind === 'app-version') {
        if (!appVersion) throw new Error('Choose the application version whose endpoints get the update.');
        target = { appVersionName: appVersion };
      } else if (kind === 'list' && preset?.kind === 'list') target = { query: queryOf(preset.filters) };
      else if (kind === 'selected' && preset?.kind === 'selected') target = { endpointIds: preset.ids };
      else {
        const list = ids.split(/[\s,]+/).filter((s) => s !== '');
        if (list.length === 0) throw new Error('Type the endpoint IDs, separated by commas, spaces or lines.');
        target = { endpointIds: list };
      }
      const input: NewRollout = { version: chosen, target };
      if (limited) {
        input.rate = { perMinute: number('Devices per minute', perMinute, 1) };
        if (growth) input.rate.growth = { factor: number('Growth factor', factor, 1.01), everySuccesses: Math.round(number('Successes per step', every, 1)) };
      }
      if (abortOn) {
        input.abort = { failurePercent: number('Failure share', percent, 0, 100), minAttempted: Math.round(number('Minimum attempted', minAttempted, 1)) };
        if (timeout.trim() !== '') input.abort.reportTimeoutSeconds = Math.round(number('Report timeout', timeout, 1));
      }
      const rollout = await softwareApi.startRollout(app, input);
      navigate(rolloutUrl(app, rollout.rolloutId));
    });

  return (
    <Dialog title="Start a rollout" onClose={onClose} wide>
      <ErrorMessage error={loadError} />
      <form
        onSubmit={(event) => {
          event.preventDefault();
          void start();
        }}
      >
        <Field label="Software version">
          {(id) => (
            <select id={id} value={chosen} required onChange={(e) => setChosen(e.target.value)}>
              {!versions?.length && <option value="">No versions yet</option>}
              <Options values={(versions ?? []).map((v) => v.version)} />
            </select>
          )}
        </Field>
        {versions?.find((v) => v.version === chosen && !v.package) && (
          <p className="hint">This version has no package: devices get its specification only.</p>
        )}

        <fieldset className="rollout-target">
          <legend>Target</legend>
          <label className="check">
            <input type="radio" name="target" checked={kind === 'app-version'} onChange={() => setKind('app-version')} /> Every endpoint of an application version
          </label>
          {kind === 'app-version' && (
            <Field label="Application version">
              {(id) => (
                <select id={id} value={appVersion} onChange={(e) => setAppVersion(e.target.value)}>
                  <Options values={appVersions.map((v) => v.name)} />
                </select>
              )}
            </Field>
          )}
          {preset?.kind === 'list' && (
            <label className="check">
              <input type="radio" name="target" checked={kind === 'list'} onChange={() => setKind('list')} /> The endpoints the list shows: {describeFilters(preset.filters)} ({plural(preset.count)} now; counted again
              when the rollout starts)
            </label>
          )}
          {preset?.kind === 'selected' && (
            <label className="check">
              <input type="radio" name="target" checked={kind === 'selected'} onChange={() => setKind('selected')} /> The {plural(preset.ids.length)} selected
            </label>
          )}
          <label className="check">
            <input type="radio" name="target" checked={kind === 'ids'} onChange={() => setKind('ids')} /> These endpoint IDs
          </label>
          {kind === 'ids' && (
            <Field label="Endpoint IDs">{(id) => <textarea id={id} rows={3} value={ids} placeholder="One a line, or separated by commas" onChange={(e) => setIds(e.target.value)} />}</Field>
          )}
        </fieldset>

        <fieldset className="rollout-rate">
          <legend>Rate</legend>
          <label className="check">
            <input type="checkbox" checked={limited} onChange={(e) => setLimited(e.target.checked)} /> Limit the rate (else every device is offered the update at once)
          </label>
          {limited && (
            <div className="command-numbers">
              <Field label="Devices per minute">{(id) => <input id={id} type="number" min={1} value={perMinute} onChange={(e) => setPerMinute(e.target.value)} />}</Field>
              <label className="check">
                <input type="checkbox" checked={growth} onChange={(e) => setGrowth(e.target.checked)} /> Grow the rate
              </label>
              {growth && (
                <>
                  <Field label="Growth factor">{(id) => <input id={id} type="number" min={1.01} step={0.1} value={factor} onChange={(e) => setFactor(e.target.value)} />}</Field>
                  <Field label="After every n successes">{(id) => <input id={id} type="number" min={1} value={every} onChange={(e) => setEvery(e.target.value)} />}</Field>
                </>
              )}
            </div>
          )}
        </fieldset>

        <fieldset className="rollout-abort">
          <legend>Abort rule</legend>
          <label className="check">
            <input type="checkbox" checked={abortOn} onChange={(e) => setAbortOn(e.target.checked)} /> Stop the rollout when too many devices fail
          </label>
          {abortOn && (
            <>
              <div className="command-numbers">
                <Field label="Failure share above (%)">{(id) => <input id={id} type="number" min={0} max={100} value={percent} onChange={(e) => setPercent(e.target.value)} />}</Field>
                <Field label="Once at least n attempted">{(id) => <input id={id} type="number" min={1} value={minAttempted} onChange={(e) => setMinAttempted(e.target.value)} />}</Field>
                <Field label="Report timeout (s, empty: none)">{(id) => <input id={id} type="number" min={1} value={timeout} onChange={(e) => setTimeoutS(e.target.value)} />}</Field>
              </div>
              <p className="hint">A device that reports nothing within the timeout after its offer counts as failed (timed out).</p>
            </>
          )}
        </fieldset>
        <ErrorMessage error={action.error} />
        <SubmitActions onCancel={onClose} disabled={action.busy || !versions?.length}>
          {action.busy ? 'Starting…' : 'Start rollout'}
        </SubmitActions>
      </form>
    </Dialog>
  );
}
