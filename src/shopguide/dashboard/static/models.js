/* The models page: every published recommender version (GET /v1/models), which one the store
   calls current and which one this service answers with. */
"use strict";

async function modelsPage(_, nav) {
  const data = await nav.api("/v1/models");
  const serving = data.serving || {};
  const current = data.store_current || {};
  const params = p => p && Object.keys(p).length ?
    Object.entries(p).map(([k, v]) => `${k}=${v}`).join(", ") : "defaults";
  nav.page(h("h1", {}, "Models"),
    h("p", { class: "muted", "data-testid": "serving" },
      serving.model ? `This service answers with ${serving.model} ${serving.version || ""}. ` : "No model is served yet. ",
      current.model ? `The store's current model is ${current.model} ${current.version || ""}` +
        (current.reason ? ` (${current.reason}).` : ".") : "The store has no current model."),
    data.versions.length ? table([
      { label: "Model", key: "model" },
      { label: "Version", key: "version" },
      { label: "Published", render: r => String(r.created_at || "–").replace("T", " ").slice(0, 16) },
      { label: "Events", num: true, render: r => fmt.num(r.events) },
      { label: "Parameters", render: r => params(r.params) },
      { label: "", render: r => [
        r.current ? h("span", { class: "pill" }, "current") : null,
        r.model === serving.model && r.version === serving.version ?
          h("span", { class: "pill serving" }, "serving") : null] },
    ], data.versions, r => ({ "data-model": r.model, "data-version": r.version,
                              "data-current": r.current }))
      : h("p", { class: "muted" }, "Nothing published yet: shopguide compare or shopguide train MODEL."),
    h("p", { class: "muted" }, "Compare models on your data with shopguide compare; " +
      "the comparison table and tuning plots are in the HTML report (shopguide report)."));
}

routes.models = modelsPage;
