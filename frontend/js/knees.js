/**
 * The knees of one upload (a bilateral view has two, each a prediction of its own): which side
 * each is and how that is known, their frames drawn over the X-ray, and a card per knee.
 */

import { GRADE_NAMES, gradeBadge, reviewFlag } from "./grades.js";
import { h, percent } from "./ui.js";

const SIDE_NAMES = { right: "Right knee", left: "Left knee" };
const SIDE_LETTERS = { right: "R", left: "L" };
const SIDE_SOURCES = {
  dicom: "Side read from the DICOM header",
  layout: "Side from the bilateral view's layout: the patient's right knee is on the image's left",
  anatomy: "Side from the knee's anatomy (where the fibula lies)",
};

/** "Right knee", "Left knee" or "Knee (side unknown)". */
const sideName = (side) => SIDE_NAMES[side] ?? "Knee (side unknown)";

/** How the side of `knee` (a prediction or one of its `knees`) is known, for its tooltip. */
const sideSource = (knee) => SIDE_SOURCES[knee.side_source] ?? "The side of this knee is not known";

/** The knee's side as text, with how it is known as its tooltip. */
export const sideLabel = (knee, extraClass = "") =>
  h("span", { class: `knee-side ${extraClass}`.trim(), title: sideSource(knee), text: sideName(knee.side) });

/** The side of `p` and, for an upload of several knees, which one it is: "Right knee · 1 of 2 knees". */
export function kneeNote(p) {
  const position = p.knees.findIndex((knee) => knee.id === p.id) + 1;
  const count = p.knees.length > 1 && h("span", { class: "text-muted", text: ` · ${position} of ${p.knees.length} knees` });
  return h("div", { class: "small knee-note" }, sideLabel(p), count);
}

/** Whether the only knee's frame is the whole image (the upload was its crop): then no frame is drawn. */
const isWholeImage = (knees, image) =>
  knees.length === 1 && knees[0].box.width >= Math.max(image.naturalWidth, image.naturalHeight) - 1;

/** "R · KL 2 Mild". */
const boxLabel = (knee) => `${SIDE_LETTERS[knee.side] ?? "?"} · KL ${knee.grade} ${GRADE_NAMES[knee.grade]}`;

/** One knee's frame, a link to its result, outlined in its grade's colour; the shown knee's stands out. */
const kneeBox = (knee, current) =>
  h("a", {
    class: `knee-box knee-${knee.grade}${current ? " is-current" : ""}`,
    href: `#/result/${knee.id}`,
    "aria-current": current ? "true" : null,
    "aria-label": `${sideName(knee.side)}: KL ${knee.grade} ${GRADE_NAMES[knee.grade]}${current ? " (shown)" : ", show its details"}`,
    dataset: { id: knee.id, grade: knee.grade },
  }, h("span", { class: "knee-box-label", "aria-hidden": "true", text: boxLabel(knee) }));

/**
 * The frames of `p`'s knees over `image`, placed where `object-fit: contain` paints the picture and
 * placed again whenever it loads or changes size; null when no knee has a frame. Hidden when the
 * upload was one knee's crop.
 * @param {HTMLImageElement} image the X-ray
 * @param {{id: number, knees: Array<{id: number, box: {x: number, y: number, width: number, height: number}|null}>}} p a prediction
 * @param {import("./router.js").ViewContext} ctx stops following the image's size on leaving
 * @returns {HTMLElement|null}
 */
export function kneeOverlay(image, p, ctx) {
  const knees = p.knees.filter((knee) => knee.box);
  if (!knees.length) return null;
  const boxes = knees.map((knee) => kneeBox(knee, knee.id === p.id));
  const overlay = h("div", { class: "knee-overlay", id: "knee-overlay", hidden: true }, boxes);

  const place = () => {
    const { naturalWidth, naturalHeight, clientWidth, clientHeight } = image;
    overlay.hidden = !naturalWidth || isWholeImage(knees, image);
    if (overlay.hidden) return;
    const scale = Math.min(clientWidth / naturalWidth, clientHeight / naturalHeight);
    const left = (clientWidth - naturalWidth * scale) / 2;
    const top = (clientHeight - naturalHeight * scale) / 2;
    knees.forEach(({ box }, i) => Object.assign(boxes[i].style, {
      left: `${left + box.x * scale}px`,
      top: `${top + box.y * scale}px`,
      width: `${box.width * scale}px`,
      height: `${box.height * scale}px`,
    }));
  };
  image.addEventListener("load", place);
  const resized = new ResizeObserver(place);
  resized.observe(image);
  ctx.onLeave(() => resized.disconnect());
  return overlay;
}

/** One knee of the upload as a card linking to its result: side, grade, confidence, review flag. */
const kneeCard = (knee, current) =>
  h("a", {
    class: `knee-card${current ? " is-current" : ""}`,
    href: `#/result/${knee.id}`,
    "aria-current": current ? "true" : null,
    dataset: { id: knee.id },
  },
  sideLabel(knee, "fw-semibold"),
  h("span", { class: "d-flex flex-wrap align-items-center gap-2" }, gradeBadge(knee.grade), reviewFlag(knee)),
  h("span", { class: "small text-muted", text: `Confidence ${percent(knee.confidence)}` }));

/** Every knee of `p`'s upload side by side, the shown one marked; null when the upload had one knee. */
export const kneePicker = (p) =>
  p.knees.length < 2
    ? null
    : h("nav", { class: "knee-picker", id: "knee-picker", "aria-label": "Knees in this X-ray" },
      h("h2", { class: "h6 text-muted", text: `${p.knees.length} knees in this X-ray: choose one to see its details` }),
      h("div", { class: "d-flex flex-wrap gap-2" }, p.knees.map((knee) => kneeCard(knee, knee.id === p.id))));
