// A small SVG line chart of simulation time (y) against real time (x), with the current rate in the caption.

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 320;
const HEIGHT = 160;
const PAD = { left: 40, right: 8, top: 8, bottom: 28 };
const MAX_POINTS = 600;

function element(name, attributes, text) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) {
    node.setAttribute(key, String(value));
  }
  if (text !== undefined) {
    node.textContent = text;
  }
  return node;
}

function niceMax(value) {
  if (value <= 0) {
    return 1;
  }
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) {
    if (value <= step * magnitude) {
      return step * magnitude;
    }
  }
  return 10 * magnitude;
}

const seconds = (value) => `${Number(value.toPrecision(3))} s`;

/** Adds a status sample ({realTime, simulationTime}) to `points`; false when it does not move the clock. */
export function addSample(points, status) {
  const last = points.at(-1);
  if (last && last.x === status.realTime && last.y === status.simulationTime) {
    return false;
  }
  points.push({ x: status.realTime, y: status.simulationTime });
  if (points.length > MAX_POINTS) {
    points.splice(0, points.length - MAX_POINTS);
  }
  return true;
}

/** Simulation seconds per real second over the last samples (up to ten), or null. */
export function rate(points) {
  const recent = points.slice(-10);
  if (recent.length < 2) {
    return null;
  }
  const first = recent[0];
  const last = recent.at(-1);
  const real = last.x - first.x;
  return real > 0 ? (last.y - first.y) / real : null;
}

export class RateChart {
  constructor(svg, caption) {
    this.svg = svg;
    this.caption = caption;
  }

  render(points) {
    this.svg.replaceChildren();
    const innerWidth = WIDTH - PAD.left - PAD.right;
    const innerHeight = HEIGHT - PAD.top - PAD.bottom;
    const maxX = niceMax(Math.max(0, ...points.map((p) => p.x)));
    const maxY = niceMax(Math.max(0, ...points.map((p) => p.y)));
    const sx = (x) => PAD.left + (x / maxX) * innerWidth;
    const sy = (y) => PAD.top + innerHeight - (y / maxY) * innerHeight;
    const diagonal = Math.min(maxX, maxY);

    this.svg.append(
      element("line", { class: "axis", x1: PAD.left, y1: PAD.top, x2: PAD.left, y2: PAD.top + innerHeight }),
      element("line", { class: "axis", x1: PAD.left, y1: PAD.top + innerHeight, x2: PAD.left + innerWidth, y2: PAD.top + innerHeight }),
      element("line", { class: "ideal", x1: sx(0), y1: sy(0), x2: sx(diagonal), y2: sy(diagonal) }),
      element("text", { class: "tick", x: PAD.left - 4, y: PAD.top + 8, "text-anchor": "end" }, seconds(maxY)),
      element("text", { class: "tick", x: PAD.left - 4, y: PAD.top + innerHeight, "text-anchor": "end" }, "0"),
      element("text", { class: "tick", x: PAD.left + innerWidth, y: HEIGHT - 14, "text-anchor": "end" }, seconds(maxX)),
      element("text", { class: "label", x: PAD.left + innerWidth / 2, y: HEIGHT - 2, "text-anchor": "middle" }, "real time"),
      element("text", { class: "label", x: 10, y: PAD.top + innerHeight / 2, "text-anchor": "middle",
        transform: `rotate(-90 10 ${PAD.top + innerHeight / 2})` }, "simulation time"),
    );
    if (points.length > 0) {
      const path = points.map((p) => `${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(" ");
      this.svg.append(element("polyline", { class: "series", points: path }));
    }

    const last = points.at(-1);
    const pace = rate(points);
    if (!last) {
      this.caption.textContent = "Simulation time against real time: no data yet.";
    } else {
      const running = pace === null ? "" : `, running at ${pace.toFixed(2)}× real time`;
      this.caption.textContent =
        `Simulation time against real time: ${seconds(last.y)} simulated in ${seconds(last.x)}${running}. The dashed line is real time.`;
    }
  }
}
