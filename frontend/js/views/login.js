/** Sign in: the OAuth2 password form; the token is kept for this browser tab's session. */

import { api, setToken } from "../api.js";
import { navigate } from "../router.js";
import { busy, h, icon, showError } from "../ui.js";
import { authCard, field, showFieldErrors } from "./auth-form.js";

/** @type {import("../router.js").View} */
export function loginView(root) {
  const submit = h("button", { class: "btn btn-primary w-100", type: "submit" }, icon("box-arrow-in-right", "me-1"), "Sign in");
  const form = h("form", { novalidate: true, "aria-label": "Sign in" },
    field({ name: "username", label: "Username", autocomplete: "username" }),
    field({ name: "password", label: "Password", type: "password", autocomplete: "current-password" }),
    submit);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const restore = busy(submit, "Signing in…");
    try {
      const { access_token: token } = await api.login(form.elements.username.value.trim(), form.elements.password.value);
      setToken(token);
      navigate("#/home");
    } catch (err) {
      restore();
      showFieldErrors(form, err.errors ?? []);
      showError(err);
    }
  });

  root.append(authCard("Sign in", "Kellgren-Lawrence grading of knee X-rays", form,
    ["New to KneeGrade? ", h("a", { href: "#/register", text: "Create an account" })]));
  form.elements.username.focus();
}
