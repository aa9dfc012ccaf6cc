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

/* How one model's parameters were chosen: its validation score per search point (the chosen
   point in green) and where it was measured; "not tuned" when nothing was searched. */
function tuningChart(label, t) {
  const scored = t && t.chosen !== null && t.chosen !== undefined ?
    t.points.map((p, i) => [p, i]).filter(([p]) => p.score !== null && p.score !== undefined) : [];
  if (!scored.length) {
    const why = t && t.notes && t.notes.length ? `not tuned (${t.notes.join("; ")})` : "not tuned (defaults)";
    return h("p", { "data-testid": "untuned", "data-model": label }, h("b", {}, label), `: ${why}`);
  }
  const chosen = t.points[t.chosen];
  const KEPT = "kept the defaults";
  const kept = (t.notes || []).filter(n => n.startsWith(KEPT));
  const other = (t.notes || []).filter(n => !n.startsWith(KEPT));
  const day = x => String(x || "?").slice(0, 10);
  const skipped = t.points.length - scored.length;
  const v = t.validation || {};
  return h("div", { "data-testid": "tuning", "data-model": label },
    h("h3", {}, `${label}: ${t.metric} on validation, per search point`),
    h("div", { class: "tuning-chart" }, barChart(scored.map(([p, i]) => ({
      label: p.label, value: p.score, color: i === t.chosen ? SG_COLORS[1] : SG_COLORS[7],
      attrs: Object.assign({ "data-index": i, "data-params": JSON.stringify(p.params) },
                           i === t.chosen ? { "data-chosen": "true" } : {}),
    })), { width: 640, labelWidth: 270, rowHeight: 20, axis: true, format: x => x.toFixed(4) })),
    h("p", { class: "muted", "data-testid": "tuning-caption" },
      `Chosen (green): ${chosen.label}, ${t.metric} ${Number(chosen.score).toFixed(4)}. ` +
      `Chosen on a validation window from ${day(v.from)} to ${day(v.until)}, the last part of ` +
      `the training events (${fmt.num(v.users)} users with purchases in it), never the test window.` +
      (kept.length ? ` The defaults were kept: ${kept[0].slice(KEPT.length + 2)}.` : "") +
      (skipped ? ` ${skipped} point(s) not tried: ${other.join("; ")}.` : "")));
}

/* What shopguide compare measured when it chose a version: its verdict, comparison table and
   each model's parameter search. */
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
          rows, r => ({ "data-row": r.model || r[keys[0]] })),
    h("h3", {}, "How each model's parameters were chosen"),
    [...new Set([...rows.map(r => String(r.model || r[keys[0]])), ...Object.keys(v.tuning || {})])]
      .map(label => tuningChart(label, (v.tuning || {})[label])));
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
    h("p", { class: "muted" }, "Compare models on your data with shopguide compare: its evidence " +
      "(the comparison and each model's automatic parameter search) shows here for the version " +
      "it publishes."));
}

routes.models = modelsPage;
