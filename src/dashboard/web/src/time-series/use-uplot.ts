import { type RefObject, useEffect, useRef } from 'react';
import uPlot from 'uplot';

/**
 * A uPlot chart drawn into `holder` that follows the container's width, `heights[0]` tall below
 * 500 px and `heights[1]` above. It is built once per `rebuildKey` (building costs far more than
 * drawing); data goes to setData whenever `data` or one of `redrawOn` changes. What the chart was
 * last given is on the holder (`data-drawn-points`, `data-drawn-last`: each series' last value), so
 * the browser tests check the chart itself, not the props around it.
 */
export function useUplot(
  holder: RefObject<HTMLDivElement | null>,
  options: {
    make: (size: { width: number; height: number }) => uPlot.Options;
    data: uPlot.AlignedData;
    heights: readonly [number, number];
    rebuildKey?: unknown;
    redrawOn?: readonly unknown[];
  },
): void {
  const chart = useRef<uPlot>(undefined);
  const latest = useRef(options);
  latest.current = options;

  useEffect(() => {
    const el = holder.current;
    if (!el) return;
    const height = () => (el.clientWidth < 500 ? latest.current.heights[0] : latest.current.heights[1]);
    const u = new uPlot(latest.current.make({ width: el.clientWidth, height: height() }), latest.current.data, el);
    chart.current = u;
    markDrawn(el, latest.current.data);
    const resize = new ResizeObserver(() => {
      if (el.clientWidth > 0) u.setSize({ width: el.clientWidth, height: height() });
    });
    resize.observe(el);
    return () => {
      resize.disconnect();
      u.destroy();
      chart.current = undefined;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps -- rebuilt only when rebuildKey changes; data goes through setData
  }, [options.rebuildKey]);

  useEffect(() => {
    if (!chart.current || !holder.current) return;
    chart.current.setData(options.data);
    markDrawn(holder.current, options.data);
    // eslint-disable-next-line react-hooks/exhaustive-deps -- redrawOn lists what else calls for a redraw
  }, [options.data, ...(options.redrawOn ?? [])]);
}

function markDrawn(el: HTMLElement, data: uPlot.AlignedData): void {
  el.dataset.drawnPoints = String(data[0].length);
  el.dataset.drawnLast = data
    .slice(1)
    .map((series) => String(series[series.length - 1] ?? ''))
    .join(',');
}
