(() => {
  "use strict";
  const TOKEN = "resourcekit.token";
  const token = document.getElementById("rk-token");
  if (token) {
    token.value = sessionStorage.getItem(TOKEN) || "";
    token.addEventListener("input", () => token.value
      ? sessionStorage.setItem(TOKEN, token.value) : sessionStorage.removeItem(TOKEN));
  }
  const headers = (accept, json) => {
    const h = {"Accept": accept};
    if (json) h["Content-Type"] = "application/json";
    const t = token && token.value.trim();
    if (t) h["Authorization"] = "Bearer " + t;
    return h;
  };
  const initial = new WeakMap();
  const controls = (form) => form.querySelectorAll("[data-kind]");
  for (const el of document.querySelectorAll("[data-kind]"))
    initial.set(el, el.type === "checkbox" ? el.checked : el.value);
  const changed = (el) => (el.type === "checkbox" ? el.checked : el.value) !== initial.get(el);
  const items = (raw) => raw.split(",").map((s) => s.trim()).filter(Boolean);
  const number = (raw) => {
    const n = Number(raw);
    if (raw.trim() === "" || !Number.isFinite(n)) throw new Error("Not a valid number.");
    return n;
  };
  const read = (el) => {
    const kind = el.dataset.kind, raw = el.value;
    if (kind === "boolean") return el.checked;
    if (raw.trim() === "") return undefined;
    if (kind === "integer" || kind === "number") return number(raw);
    if (kind === "list") return raw.trim();
    if (kind === "list-number") return number(raw);
    if (kind === "json") return JSON.parse(raw);
    return raw;
  };
  const cleared = (el) => "nullable" in el.dataset ? null
    : el.dataset.kind === "string" ? "" : undefined;
  const body = (form) => {
    const patch = form.dataset.method === "PATCH", out = {}, problems = {}, lists = {};
    for (const el of controls(form)) {
      const key = el.dataset.key, list = el.dataset.kind.startsWith("list");
      if (list) {  // an item per input: a list may change in any of them
        lists[key] = lists[key] || {items: [], changed: false};
        lists[key].changed = lists[key].changed || changed(el);
      } else if (patch && el.dataset.kind !== "body" && !changed(el)) continue;
      let value;
      try { value = read(el); } catch (err) { problems[key] = [err.message]; continue; }
      if (el.dataset.kind === "body") return value === undefined ? {} : value;
      if (list) { if (value !== undefined) lists[key].items.push(value); continue; }
      if (value === undefined && patch) value = cleared(el);
      if (value !== undefined) out[key] = value;
    }
    for (const [key, list] of Object.entries(lists)) {
      if (patch ? list.changed : list.items.length) out[key] = list.items;
    }
    if (Object.keys(problems).length)
      throw {title: "Some fields could not be read", errors: problems};
    return out;
  };
  const text = (tag, content) => {
    const el = document.createElement(tag);
    el.textContent = content;
    return el;
  };
  const clear = (form) => {
    for (const note of form.querySelectorAll(".rk-error")) note.textContent = "";
    for (const el of controls(form)) el.removeAttribute("aria-invalid");
    const box = form.querySelector(".rk-problem");
    box.replaceChildren();
    box.hidden = true;
  };
  const mark = (form, key, message) => {
    for (const el of controls(form)) {
      if (el.dataset.key !== key) continue;
      el.setAttribute("aria-invalid", "true");
      el.closest(".rk-field").querySelector(".rk-error").textContent = message;
    }
  };
  const show = (form, problem) => {
    const box = form.querySelector(".rk-problem");
    box.append(text("strong", [problem.status, problem.title].filter(Boolean).join(" ")));
    if (problem.detail) box.append(text("p", String(problem.detail)));
    const list = document.createElement("ul");
    const found = problem.errors && typeof problem.errors === "object" ? problem.errors : {};
    for (const [key, messages] of Object.entries(found)) {
      const message = [].concat(messages).join(" ");
      list.append(text("li", key + ": " + message));
      mark(form, key, message);
    }
    if (list.children.length) box.append(list);
    box.hidden = false;
  };
  const follow = (location_, fallback) => {
    const url = location_ ? new URL(location_, location.href) : null;
    if (url && (url.protocol === "http:" || url.protocol === "https:")) location.assign(url.href);
    else if (fallback) location.assign(fallback);
    else location.reload();
  };
  const send = async (form) => {
    const method = form.dataset.method;
    const payload = method === "DELETE" ? undefined : JSON.stringify(body(form));
    const response = await fetch(location.pathname, {method, body: payload,
      headers: headers("application/json", payload !== undefined), credentials: "same-origin"});
    if (response.ok) {
      if (response.status === 201) return follow(response.headers.get("Location"));
      return follow(null, method === "DELETE" ? form.dataset.parent : null);
    }
    let problem;
    try { problem = await response.json(); } catch { problem = {}; }
    if (!problem || typeof problem !== "object") problem = {};
    show(form, {status: response.status, title: response.statusText, ...problem});
  };
  for (const form of document.querySelectorAll("form[data-method]")) {
    const submit = form.querySelector("button[type=submit]");
    if (submit) submit.disabled = false;  // PUT, PATCH, DELETE need this script
    form.addEventListener("submit", async (event) => {
      if (form.enctype === "multipart/form-data") return;  // a file: the browser sends it
      event.preventDefault();
      if (form.dataset.method === "DELETE" && !confirm("Delete this resource?")) return;
      clear(form);
      const button = form.querySelector("button[type=submit]");
      button.disabled = true;
      try { await send(form); } catch (err) {
        show(form, err instanceof Error ? {title: err.name, detail: err.message} : err);
      } finally { button.disabled = false; }
    });
  }
  const query = document.getElementById("rk-query");
  if (query) query.addEventListener("submit", (event) => {
    event.preventDefault();
    const params = new URLSearchParams();
    for (const el of controls(query)) {
      const raw = el.type === "checkbox" ? (el.checked ? "true" : "") : el.value.trim();
      const values = el.dataset.kind.startsWith("list") ? items(raw) : [raw];
      for (const value of values) if (value) params.append(el.dataset.key, value);
    }
    const search = params.toString();
    location.assign(location.pathname + (search ? "?" + search : ""));
  });
  const raw = document.getElementById("rk-raw");
  for (const button of document.querySelectorAll("button[data-accept]")) {
    button.addEventListener("click", async () => {
      const response = await fetch(location.href, {headers: headers(button.dataset.accept)});
      raw.textContent = await response.text();
      raw.hidden = false;
    });
  }
})();
