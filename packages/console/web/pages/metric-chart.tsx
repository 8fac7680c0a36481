import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { MetricPoint } from "../types.js";

const HEIGHT = 220;
const STEP_INCREMENTS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 100_000, 1_000_000];

/**
 * One metric's history by step, drawn by uPlot on a canvas. The canvas is an image to
 * assistive technology; the run's table beside it carries the same latest values as text.
 */
export function MetricChart({ name, points }: { name: string; points: MetricPoint[] }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    // A null (NaN or ±Infinity in MLflow) leaves a gap rather than a point.
    const data: uPlot.AlignedData = [points.map((p) => p.step), points.map((p) => p.value)];
    const width = () => Math.max(200, Math.floor(el.clientWidth));
    const plot = new uPlot(
      {
        width: width(),
        height: HEIGHT,
        scales: { x: { time: false } },
        // Steps are whole numbers: no tick at 0.5.
        axes: [{ label: "step", incrs: STEP_INCREMENTS }, {}],
        series: [{ label: "step" }, { label: name, stroke: "#0b5cad", width: 2, points: { show: points.length < 60 } }],
        legend: { show: true },
        cursor: { drag: { x: false, y: false } },
      },
      data,
      el,
    );
    plot.root.querySelector("canvas")?.setAttribute("aria-hidden", "true");
    const resize = new ResizeObserver(() => plot.setSize({ width: width(), height: HEIGHT }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [name, points]);
  const last = points[points.length - 1];
  return (
    <figure class="chart card" data-testid={`chart-${name}`} data-points={points.length}>
      <figcaption>
        <strong>{name}</strong>{" "}
        <span class="muted">
          {points.length} point{points.length === 1 ? "" : "s"}
          {last ? `, last ${last.value === null ? "not a number" : formatValue(last.value)} at step ${last.step}` : ""}
        </span>
      </figcaption>
      <div ref={box} role="img" aria-label={`Chart of ${name} by step`} />
    </figure>
  );
}

/** A metric value for a table cell: 4 significant digits, small and large ones in exponent form. */
export function formatValue(v: number | null | undefined): string {
  if (v === null || v === undefined) return "—";
  if (v !== 0 && (Math.abs(v) < 1e-3 || Math.abs(v) >= 1e6)) return v.toExponential(3);
  return String(Number(v.toPrecision(4)));
}
