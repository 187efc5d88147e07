/** Create an account, then sign straight in with it. */

import { api, setToken } from "../api.js";
import { navigate } from "../router.js";
import { busy, flash, h, icon, showError } from "../ui.js";
import { authCard, field, showFieldErrors } from "./auth-form.js";

/** @type {import("../router.js").View} */
export function registerView(root) {
  const submit = h("button", { class: "btn btn-primary w-100", type: "submit" }, icon("person-plus", "me-1"), "Create account");
  const form = h("form", { novalidate: true, "aria-label": "Create an account" },
    field({ name: "name", label: "Full name", autocomplete: "name", hint: "As colleagues know you, e.g. Dr Jane Smith." }),
    field({ name: "username", label: "Username", autocomplete: "username", hint: "3–50 letters, digits, dots, underscores or hyphens." }),
    field({ name: "password", label: "Password", type: "password", autocomplete: "new-password", hint: "At least 8 characters." }),
    submit);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const { name, username, password } = form.elements;
    const restore = busy(submit, "Creating account…");
    try {
      await api.register(username.value.trim(), password.value, name.value.trim());
      const { access_token: token } = await api.login(username.value.trim(), password.value);
      setToken(token);
      flash(`Welcome, ${name.value.trim()}: your account is ready.`, "success");
      navigate("#/home");
    } catch (err) {
      restore();
      showFieldErrors(form, err.errors ?? []);
      if (err.status === 409) showFieldErrors(form, [{ loc: ["username"], msg: err.message }]);
      showError(err);
    }
  });

  root.append(authCard("Create an account", "For clinicians grading knee radiographs", form,
    ["Already registered? ", h("a", { href: "#/login", text: "Sign in" })]));
  form.elements.name.focus();
}
