// The legend: one section per layer on the map, in drawing order, inside a Leaflet control.

import { h } from "./dom.js";

// sections: [{name, title, rows: [Node]}]
export function renderLegend(container, sections) {
  container.replaceChildren(
    ...sections.map(({ name, title, rows }) =>
      h("section", { className: `legend-section legend-${name}`, "data-layer": name }, h("h4", {}, title), rows)),
  );
  container.hidden = sections.length === 0;
}
