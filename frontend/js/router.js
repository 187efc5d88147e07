/** Hash routing: `#/name/param?query` picks a view; leaving a view cancels its requests. */

/**
 * @typedef {object} ViewContext
 * @property {AbortSignal} signal aborted when the user leaves the view
 * @property {(cleanup: () => void) => void} onLeave run when the user leaves (revoke URLs, destroy charts)
 * @property {string|undefined} param the path segment after the view name, e.g. the id in `#/result/12`
 * @property {URLSearchParams} query the part after `?`
 *
 * @typedef {(root: HTMLElement, ctx: ViewContext) => (void|Promise<void>)} View
 */

/** Where `hash` points: its view name, parameter and query. */
export function parseHash(hash) {
  const [path, search = ""] = hash.replace(/^#\/?/, "").split("?");
  const [name = "", param] = path.split("/");
  return { name, param: param && decodeURIComponent(param), query: new URLSearchParams(search) };
}

export function navigate(hash) {
  if (location.hash === hash) window.dispatchEvent(new HashChangeEvent("hashchange"));
  else location.hash = hash;
}

/**
 * Start routing.
 * @param {object} options
 * @param {Record<string, View>} options.views by name
 * @param {(name: string) => (string|null)} options.guard a hash to go to instead, or null to render
 * @param {(name: string) => void} options.beforeRender e.g. mark the active navbar link
 */
export function startRouter({ views, guard, beforeRender }) {
  const root = document.getElementById("view");
  let leave = null;

  async function render() {
    const { name, param, query } = parseHash(location.hash);
    const redirect = guard(name in views ? name : "");
    if (redirect) {
      navigate(redirect);
      return;
    }
    leave?.();
    const controller = new AbortController();
    const cleanups = [];
    leave = () => {
      controller.abort();
      cleanups.forEach((cleanup) => cleanup());
    };
    beforeRender(name);
    const page = document.createElement("section");
    root.replaceChildren(page);
    root.focus({ preventScroll: true });
    window.scrollTo(0, 0);
    await views[name](page, { signal: controller.signal, onLeave: (fn) => cleanups.push(fn), param, query });
  }

  window.addEventListener("hashchange", render);
  return render();
}
