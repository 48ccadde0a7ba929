// The city's hexagons, drawn once from GET /api/grid and repainted from a layer's values
// (GET /api/layers/{risk,cost}/values): a date or layer switch downloads and restyles numbers,
// never the shapes. Each hexagon's path carries `data-h3-id` and a class naming what paints it
// (`hex-risk`, `hex-cost`; `hex-none` when nothing does).

import * as L from "./vendor/leaflet/leaflet-src.esm.js";

const PAINT_CLASSES = ["hex-risk", "hex-cost", "hex-none"];
const HIDDEN = { stroke: false, fill: false };

// values: {h3_id: [...], <property>: [...]} -> a lookup of each cell's properties.
export function rowsById(values) {
  const rows = new Map();
  const names = Object.keys(values);
  values.h3_id.forEach((id, i) => {
    const row = {};
    for (const name of names) row[name] = values[name][i];
    rows.set(id, row);
  });
  return rows;
}

export class CellGrid {
  constructor(map, grid, { onCell }) {
    this.version = grid.grid_version;
    this.paint = null; // {kind, rows, style(row, h3Id), tooltip(row)}
    this.group = L.geoJSON(grid, {
      pane: "cells",
      style: (feature) => this.styleOf(feature.properties.h3_id),
      onEachFeature: (feature, layer) => {
        const id = feature.properties.h3_id;
        layer.bindTooltip(() => this.tooltipOf(id), { sticky: true });
        layer.on("click", () => {
          if (this.paint && this.paint.rows.has(id)) onCell(id);
        });
      },
    }).addTo(map);
    this.group.eachLayer((layer) => layer.getElement().setAttribute("data-h3-id", layer.feature.properties.h3_id));
    this.restyle();
  }

  styleOf(h3Id) {
    const row = this.paint && this.paint.rows.get(h3Id);
    return row ? this.paint.style(row, h3Id) : HIDDEN;
  }

  tooltipOf(h3Id) {
    const row = this.paint && this.paint.rows.get(h3Id);
    return row ? this.paint.tooltip(row) : h3Id;
  }

  // Re-applies the current paint (or the selection's outline) to every hexagon, and its class.
  restyle() {
    this.group.resetStyle();
    this.group.eachLayer((layer) => {
      const id = layer.feature.properties.h3_id;
      const element = layer.getElement();
      element.classList.remove(...PAINT_CLASSES);
      element.classList.add(this.paint && this.paint.rows.has(id) ? `hex-${this.paint.kind}` : "hex-none");
    });
  }

  // What a cell layer's draw returns: it paints the grid while on the map.
  painter(paint) {
    const grid = this;
    return {
      addTo() {
        grid.paint = paint;
        grid.restyle();
        return this;
      },
      remove() {
        if (grid.paint !== paint) return; // another layer paints the cells now
        grid.paint = null;
        grid.restyle();
      },
      resetStyle: () => grid.restyle(),
      eachLayer: (fn) => grid.group.eachLayer(fn),
    };
  }
}
