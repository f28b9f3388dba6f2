// Looks strings up in a page's catalog (strings.js for the console, live-strings.js for the
// live panel). Add a language by adding an object with the same keys to the catalog.
export function makeTranslator(catalogs) {
  const language = (globalThis.navigator?.language ?? "en").slice(0, 2);
  const strings = catalogs[language] ?? catalogs.en;
  const t = (key, values = {}) =>
    (strings[key] ?? catalogs.en[key] ?? key).replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ""));
  const translatePage = (root = document) => {
    document.documentElement.lang = catalogs[language] ? language : "en";
    for (const element of root.querySelectorAll("[data-t]")) element.textContent = t(element.dataset.t);
    for (const element of root.querySelectorAll("[data-t-label]")) element.setAttribute("aria-label", t(element.dataset.tLabel));
  };
  return { t, translatePage };
}

/** A tiny element builder: h("button", {type: "button", onclick}, "text", child…). */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "class") element.className = value;
    else if (name === "dataset") Object.assign(element.dataset, value);
    else if (name in element && typeof value !== "string") element[name] = value;
    else element.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}
