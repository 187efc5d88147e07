/** The layout and field errors shared by the sign-in and registration forms. */

import { h, icon } from "../ui.js";

/** A labelled input with room for a hint and the API's validation message. */
export function field({ name, label, type = "text", autocomplete, hint }) {
  const id = `field-${name}`;
  const input = h("input", {
    class: "form-control", id, name, type, autocomplete, required: true,
    "aria-describedby": `${id}-feedback${hint ? ` ${id}-hint` : ""}`,
  });
  return h("div", { class: "mb-3" },
    h("label", { class: "form-label", for: id, text: label }),
    input,
    hint && h("div", { class: "form-text", id: `${id}-hint`, text: hint }),
    h("div", { class: "invalid-feedback", id: `${id}-feedback` }));
}

/** The centred card the two forms sit in. */
export const authCard = (title, subtitle, form, footer) =>
  h("div", { class: "auth-wrap" },
    h("div", { class: "text-center mb-4" },
      h("div", { class: "auth-logo" }, icon("activity")),
      h("h1", { class: "h3 mb-1" }, "Knee", h("strong", {}, "Grade")),
      h("p", { class: "text-muted", text: subtitle })),
    h("div", { class: "card shadow-sm" },
      h("div", { class: "card-body p-4" }, h("h2", { class: "h5 mb-3", text: title }), form)),
    h("p", { class: "text-center text-muted mt-3" }, ...footer));

/** Mark the fields the API's 422 `errors` name as invalid, with its message under each. */
export function showFieldErrors(form, errors) {
  for (const input of form.querySelectorAll("input")) {
    input.classList.remove("is-invalid");
    input.removeAttribute("aria-invalid");
  }
  for (const { loc, msg } of errors) {
    const input = form.elements.namedItem(String(loc.at(-1)));
    if (!(input instanceof HTMLInputElement)) continue;
    input.classList.add("is-invalid");
    input.setAttribute("aria-invalid", "true");
    document.getElementById(`${input.id}-feedback`).textContent = msg;
  }
  form.querySelector(".is-invalid")?.focus();
}
