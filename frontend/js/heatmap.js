/**
 * The X-ray with the model's heatmap stacked on top (a switch to show it and an opacity slider)
 * and the frames of the knees found in it.
 */

import { showImage, withQuery } from "./api.js";
import { kneeOverlay } from "./knees.js";
import { emptyState, h, icon, showError } from "./ui.js";

/** The switch and slider keep their setting from one scan to the next in this tab. */
const setting = { on: true, opacity: 50 };

/** The colour scale, cold to hot, so a reader knows what red means. */
const legend = () =>
  h("div", { class: "d-flex align-items-center gap-2 small text-muted", "aria-hidden": "true" },
    h("span", { text: "low" }), h("span", { class: "heat-legend" }), h("span", { text: "high" }));

/** The Heatmap switch and the Opacity slider, wired to `layer`. */
function controls(layer) {
  const toggle = h("input", { class: "form-check-input", type: "checkbox", role: "switch", id: "heatmap-toggle", checked: setting.on });
  const slider = h("input", {
    class: "form-range", type: "range", id: "heatmap-opacity", min: "0", max: "100", step: "5",
    value: String(setting.opacity), disabled: !setting.on,
  });
  const shown = h("output", { class: "small font-monospace text-muted heat-value", for: "heatmap-opacity" });
  const apply = () => {
    setting.on = toggle.checked;
    setting.opacity = Number(slider.value);
    layer.hidden = !setting.on;
    layer.style.opacity = String(setting.opacity / 100);
    slider.disabled = !setting.on;
    slider.setAttribute("aria-valuetext", `${setting.opacity} %`);
    shown.textContent = `${setting.opacity} %`;
  };
  toggle.addEventListener("change", apply);
  slider.addEventListener("input", apply);
  apply();
  return h("div", { class: "d-flex flex-wrap align-items-center gap-3 heat-controls" },
    h("div", { class: "form-check form-switch mb-0" },
      toggle, h("label", { class: "form-check-label", for: "heatmap-toggle", text: "Heatmap" })),
    h("div", { class: "d-flex align-items-center gap-2 flex-grow-1" },
      h("label", { class: "form-label mb-0 small", for: "heatmap-opacity", text: "Opacity" }),
      slider, shown));
}

/**
 * One scan's picture: the X-ray, and over it the heatmap's colour layer in the same box with the
 * same `object-fit`, so it stays aligned at any size and aspect ratio, and above both the knees'
 * frames (see knees.js). Without a heatmap, the X-ray alone and a note.
 * @param {{image_url: string, thumbnail_url: string, heatmap_url?: string|null, model: string, heatmap_caption: string, original_filename: string, grade: number, name: string, knees: object[]}} p a prediction
 * @param {import("./router.js").ViewContext} ctx frees the pictures' object URLs on leaving; errors are shown
 * @param {{imageId?: string, tall?: boolean}} [options] the X-ray's id; `tall` for the result page
 * @returns {HTMLElement}
 */
export function heatmapViewer(p, ctx, { imageId = "heatmap-image", tall = false } = {}) {
  const image = h("img", { class: "xray", id: imageId, alt: `Knee X-ray ${p.original_filename}, graded KL ${p.grade} ${p.name}` });
  const layer = h("img", { class: "heatmap-layer", id: "heatmap-layer", alt: "", hidden: true });
  const stack = h("div", { class: "heatmap-stack" }, image, p.heatmap_url ? layer : null, kneeOverlay(image, p, ctx));
  const frame = h("div", { class: `preview-frame heatmap-frame${tall ? " is-tall" : ""}` }, stack);
  const below = h("figcaption", { class: "d-flex flex-column gap-2 mt-2" });
  const figure = h("figure", { class: "heatmap-viewer mb-0", id: "heatmap-viewer" }, frame, below);

  const note = (text) => h("p", { class: "small text-muted mb-0", id: "heatmap-note" }, icon("info-circle", "me-1"), text);

  // a TIFF upload is stored as sent, which browsers cannot show: fall back to the PNG thumbnail
  image.onerror = () => {
    image.onerror = null;
    showImage(image, p.thumbnail_url, ctx).catch(() => frame.replaceChildren(emptyState("image", "The image cannot be shown.")));
  };
  showImage(image, p.image_url, ctx).catch((err) => {
    if (err?.name === "AbortError") return;
    frame.replaceChildren(emptyState("image", "The image could not be loaded."));
    showError(err);
  });

  if (!p.heatmap_url) {
    below.append(note("No heatmap for this scan: the X-ray is shown alone."));
    return figure;
  }
  below.append(controls(layer), h("p", { class: "small text-muted mb-0", id: "heatmap-caption", text: p.heatmap_caption }), legend());
  showImage(layer, withQuery(p.heatmap_url, "layer", "colour"), ctx).catch((err) => {
    if (err?.name === "AbortError") return;
    layer.remove();
    below.replaceChildren(note("The heatmap could not be loaded; the X-ray is shown alone."));
  });
  return figure;
}
