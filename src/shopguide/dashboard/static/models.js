/* The models page: every published recommender version (GET /v1/models), which one the store
   calls current and which one this service answers with; an admin key can retrain a model
   (POST /v1/models/{name}/train) and follow the job's progress. */
"use strict";

/* Start a training of `name` and show its job's progress in `box` until it ends; then open
   the page again (a new version is listed). */
async function retrain(name, box, nav) {
  box.replaceChildren(h("p", { class: "muted" }, `Asking to retrain ${name}…`));
  let job;
  try {
    job = await nav.api(`/v1/models/${encodeURIComponent(name)}/train`, { method: "POST", body: "{}" });
  } catch (err) {
    if (err instanceof StaleError || err.name === "AbortError") return;
    const why = err.status === 403 ? "retraining needs an admin key" : err.message;
    return box.replaceChildren(h("p", { class: "error", "data-testid": "train-error" }, why));
  }
  while (job.status === "queued" || job.status === "running") {
    box.replaceChildren(h("div", { "data-testid": "job", "data-status": job.status },
      h("progress", { max: 1, value: job.progress }),
      h("span", { class: "muted" }, ` ${name}: ${job.status}, ${job.step || "waiting"}` +
        ` (${Math.round(100 * job.progress)} %)`)));
    await new Promise(done => setTimeout(done, 400));
    job = await nav.api(`/v1/jobs/${job.job_id}`);
  }
  if (job.status === "failed") {
    return box.replaceChildren(h("p", { class: "error", "data-testid": "train-error" },
      `${name} failed: ${job.error || "unknown error"}`));
  }
  nav.check();
  route();  // the page again, with the new version
}

/* What shopguide compare measured when it chose a version: its verdict and comparison table. */
function evidence(v) {
  const e = v.evaluation;
  const rows = e.table || [];
  const keys = rows.length ? Object.keys(rows[0]) : [];
  const cell = x => typeof x === "number" ? x.toLocaleString("en", { maximumFractionDigits: 4 }) : x;
  return h("div", { class: "panel", "data-testid": "evidence", "data-model": v.model,
                    "data-version": v.version },
    h("h2", {}, `Why ${v.model} ${v.version}: shopguide compare`),
    h("p", {}, e.verdict || ""),
    h("p", { class: "muted" }, `Primary metric ${e.primary_metric}; ` +
      (e.split && e.split.description ? e.split.description : "")),
    table(keys.map(k => ({ label: k, num: typeof rows[0][k] === "number", render: r => cell(r[k]) })),
          rows, r => ({ "data-row": r.model || r[keys[0]] })));
}

async function modelsPage(_, nav) {
  const data = await nav.api("/v1/models");
  const serving = data.serving || {};
  const current = data.store_current || {};
  const params = p => p && Object.keys(p).length ?
    Object.entries(p).map(([k, v]) => `${k}=${v}`).join(", ") : "defaults";
  const names = [...new Set(data.versions.map(v => v.model))];
  const jobBox = h("div", { "data-testid": "job-box" });
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
    names.length ? h("div", { class: "controls" },
      h("span", { class: "muted" }, "Retrain on every event now (admin key):"),
      names.map(name => h("button", { type: "button", "data-train": name,
                                      onclick: () => settle(retrain(name, jobBox, nav), jobBox) }, `Retrain ${name}`)))
      : null,
    jobBox,
    ...data.versions.filter(v => v.evaluation).map(evidence),
    h("p", { class: "muted" }, "Compare models on your data with shopguide compare (its evidence " +
      "shows here for the version it publishes); the tuning plots are in the HTML report " +
      "(shopguide report)."));
}

routes.models = modelsPage;
