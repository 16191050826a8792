"use strict";
// A dependency-free OpenAPI 3.1 viewer, so /api/docs needs no CDN.
(function () {
  const el = (tag, props, ...kids) => {
    const e = document.createElement(tag);
    Object.assign(e, props || {});
    for (const k of kids) e.append(k);
    return e;
  };
  let spec;
  const resolve = (s) => {
    if (s && s.$ref) {
      const name = s.$ref.split("/").pop();
      return (spec.components && spec.components.schemas && spec.components.schemas[name]) || s;
    }
    return s;
  };
  const example = (s, depth) => {
    s = resolve(s);
    if (!s || depth > 6) return null;
    if (s.examples && s.examples.length) return s.examples[0];
    if (s.example !== undefined) return s.example;
    const t = Array.isArray(s.type) ? s.type.find((x) => x !== "null") : s.type;
    if (t === "object" || s.properties) {
      const o = {};
      for (const [k, v] of Object.entries(s.properties || {})) o[k] = example(v, depth + 1);
      return o;
    }
    if (t === "array") return [example(s.items, depth + 1)];
    if (t === "integer" || t === "number") return s.minimum !== undefined ? s.minimum : 0;
    if (t === "boolean") return false;
    if (s.enum) return s.enum[0];
    return s.format === "date-time" ? "2026-01-01T00:00:00Z" : "string";
  };
  const render = (filter) => {
    const main = document.getElementById("ops");
    main.replaceChildren();
    const f = (filter || "").toLowerCase();
    let count = 0;
    for (const [p, item] of Object.entries(spec.paths || {})) {
      for (const [method, op] of Object.entries(item)) {
        const text = (method + " " + p + " " + (op.summary || "")).toLowerCase();
        if (f && !text.includes(f)) continue;
        count++;
        const d = el("details", {}, el("summary", {}, el("span", { className: "m", textContent: method.toUpperCase() }), p + (op.summary ? " — " + op.summary : "")));
        if (op.description) d.append(el("p", { className: "desc", textContent: op.description }));
        const params = (op.parameters || []).map((x) => `${x.in} ${x.name}${x.required ? " (required)" : ""}: ${(resolve(x.schema) || {}).type || ""}`);
        if (params.length) d.append(el("h3", { textContent: "Parameters" }), el("pre", { textContent: params.join("\n") }));
        const body = op.requestBody && op.requestBody.content && op.requestBody.content["application/json"];
        if (body) d.append(el("h3", { textContent: "Request body" }), el("pre", { textContent: JSON.stringify(example(body.schema, 0), null, 2) }));
        for (const [code, resp] of Object.entries(op.responses || {})) {
          const c = resp.content && (resp.content["application/json"] || resp.content["application/problem+json"]);
          d.append(el("h3", { textContent: `Response ${code}` }), el("p", { className: "desc", textContent: resp.description || "" }));
          if (c && c.schema) d.append(el("pre", { textContent: JSON.stringify(example(c.schema, 0), null, 2) }));
        }
        main.append(d);
      }
    }
    if (!count) main.append(el("p", { textContent: "No operation matches." }));
  };
  fetch("/api/openapi.json").then((r) => r.json()).then((s) => {
    spec = s;
    render("");
    document.getElementById("filter").addEventListener("input", (e) => render(e.target.value));
  }).catch(() => { document.getElementById("ops").textContent = "Could not load the OpenAPI document."; });
})();
