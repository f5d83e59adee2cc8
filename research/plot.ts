/** Line charts as SVG, rendered headless by Vega-Lite (no browser, no canvas). */
import * as vega from "vega";
import * as vl from "vega-lite";

export interface LineChart {
  title: string;
  xTitle: string;
  yTitle: string;
  logY?: boolean;
  logX?: boolean;
  /** One row per point: x, y and the series it belongs to. */
  points: { x: number; y: number; series: string }[];
}

export async function lineChartSvg(c: LineChart): Promise<string> {
  const spec = vl.compile({
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title: c.title,
    width: 640,
    height: 360,
    data: { values: c.points },
    mark: { type: "line", strokeWidth: 1.5 },
    encoding: {
      x: {
        field: "x",
        type: "quantitative",
        title: c.xTitle,
        // A nice log domain would round out to the next power of ten, leaving empty width.
        scale: c.logX ? { type: "log", nice: false } : {},
      },
      y: {
        field: "y",
        type: "quantitative",
        title: c.yTitle,
        scale: c.logY ? { type: "log" } : {},
      },
      color: { field: "series", type: "nominal", title: null },
    },
    config: { background: "white" },
  }).spec;
  const view = new vega.View(vega.parse(spec), { renderer: "none" });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}
