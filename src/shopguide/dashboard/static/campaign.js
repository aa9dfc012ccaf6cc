/* The campaign builder: items found by typing part of their title or id, categories picked
   from the catalogue's tree, segments, constraints; the audience with its lift and export. */
"use strict";

/* Suggestions under the items field: the last comma-separated part is searched for, and a
   chosen item's id takes its place. */
function itemSuggestions(input, nav) {
  const list = h("ul", { class: "suggest", "data-testid": "item-suggestions", hidden: true });
  let asked = 0, timer = null;
  const parts = () => input.value.split(",");
  async function ask() {
    const text = parts().pop().trim();
    const mine = ++asked;
    if (text.length < 2) { list.hidden = true; return; }
    const found = await nav.api(`/v1/search?q=${encodeURIComponent(text)}&limit=8`).catch(() => null);
    if (mine !== asked || !found) return;
    list.replaceChildren(...found.items.map(i => h("li", { "data-item": i.item_id,
      onmousedown: e => {
        e.preventDefault();
        const kept = parts().slice(0, -1).map(p => p.trim()).filter(Boolean);
        input.value = [...kept, i.item_id].join(", ") + ", ";
        list.hidden = true;
        input.focus();
      } }, i.title || i.item_id, h("span", { class: "muted" }, ` · ${i.item_id}, ${i.category || ""}`))));
    list.hidden = !found.items.length || document.activeElement !== input;  // gone elsewhere
  }
  input.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(ask, 150); });
  input.addEventListener("blur", () => setTimeout(() => { list.hidden = true; }, 150));
  return h("div", { class: "search" }, input, list);
}

async function campaignPage(segment, nav) {
  const field = (label, name, attrs) => h("label", {}, label, h("input", Object.assign({ name }, attrs)));
  const result = h("div", { "data-testid": "audience" });
  const optional = path => nav.api(path).catch(err => {
    if (err.status === 401 || err instanceof StaleError || err.name === "AbortError") throw err;
    return [];
  });
  const [segments, categories] = await Promise.all([optional("/v1/segments"), optional("/v1/categories")]);
  const segSelect = h("select", { name: "segments", multiple: true, size: 6 },
    segments.map(s => h("option", { value: s.segment, selected: s.segment === segment }, s.segment)));
  // the tree, indented: choosing a level promotes everything below it
  const catSelect = h("select", { name: "categories", multiple: true, size: 6 },
    categories.map(c => h("option", { value: c.category, "data-items": c.items },
      "\u00a0\u00a0\u00a0".repeat(c.depth - 1) + c.category.split(" > ").pop() + ` (${c.items})`)));
  const itemsInput = h("input", { name: "items", size: 28, autocomplete: "off",
                                  placeholder: "type part of a title or id" });
  const form = h("form", { class: "inline", id: "campaign-form", onsubmit: async e => {
    e.preventDefault();
    const f = new FormData(form);
    const list = k => String(f.get(k) || "").split(",").map(s => s.trim()).filter(Boolean);
    const body = { name: f.get("name") || "campaign", items: list("items"),
      categories: [...catSelect.selectedOptions].map(o => o.value),
      size: Number(f.get("size") || 100), discount: Number(f.get("discount") || 0) / 100,
      segments: [...segSelect.selectedOptions].map(o => o.value) };
    if (f.get("max_churn")) body.max_churn = Number(f.get("max_churn")) / 100;
    if (f.get("exclude_bought_days")) body.exclude_bought_days = Number(f.get("exclude_bought_days"));
    result.replaceChildren(h("p", { class: "muted" }, "Scoring…"));
    try { showAudience(result, await api("/v1/audiences", { method: "POST", body: JSON.stringify(body) })); }
    catch (err) { result.replaceChildren(errorBox(err)); }
  } },
    field("Name", "name", { value: "spring-promo" }),
    h("label", {}, "Items (ids, comma-separated)", itemSuggestions(itemsInput, nav)),
    h("label", {}, "Categories", catSelect),
    h("label", {}, "Segments", segSelect),
    field("Discount %", "discount", { type: "number", min: 0, max: 90, value: 0 }),
    field("Audience size", "size", { type: "number", min: 1, max: 100000, value: 50 }),
    field("Max churn %", "max_churn", { type: "number", min: 0, max: 100 }),
    field("Skip buyers of last N days", "exclude_bought_days", { type: "number", min: 0 }),
    h("button", { type: "submit" }, "Build audience"));
  nav.page(h("h1", {}, "Campaign builder"),
    h("p", { class: "muted" }, "Pick what to promote and the constraints; the audience is ranked by " +
      "propensity (the model's score for the promoted items, affinity, recency, orders, spend)."),
    form, result);
}

function showAudience(root, a) {
  const exportLink = h("button", { type: "button", "data-testid": "export", onclick: async () => {
    const csv = await api(`/v1/audiences/${a.audience_id}/export`);
    const url = URL.createObjectURL(new Blob([csv], { type: "text/csv" }));
    const link = h("a", { href: url, download: `audience-${a.audience_id}.csv` });
    document.body.append(link); link.click(); link.remove();
  } }, "Export CSV");
  root.replaceChildren(
    h("div", { class: "cards" },
      h("div", { class: "card", "data-testid": "size", "data-raw": a.size },
        h("div", { class: "label" }, "Audience"), h("div", { class: "value" }, fmt.num(a.size))),
      h("div", { class: "card", "data-testid": "promoted", "data-raw": a.promoted_items },
        h("div", { class: "label" }, "Promoted items"), h("div", { class: "value" }, fmt.num(a.promoted_items))),
      h("div", { class: "card" }, h("div", { class: "label" }, "Eligible users"),
        h("div", { class: "value" }, fmt.num(a.eligible_users))),
      h("div", { class: "card", "data-testid": "lift", "data-raw": a.expected_lift },
        h("div", { class: "label" }, "Expected lift vs random"),
        h("div", { class: "value" }, a.expected_lift === null ? "–" : fmt.num(a.expected_lift) + "×")),
      // the rule-based propensity is a score per user, not a chance: its sum is no count of
      // responses, so it is shown as what it is, next to a random audience's
      h("div", { class: "card", "data-testid": "propensity", "data-raw": a.expected_responses,
                 title: "The sum of the audience's rule-based propensity scores; the lift compares " +
                   "it with a random audience of the same size. Not a number of responses." },
        h("div", { class: "label" }, "Summed propensity score"),
        h("div", { class: "value" }, fmt.num(a.expected_responses)),
        h("div", { class: "muted" }, `random audience: ${fmt.num(a.random_expected_responses)}`))),
    h("p", {}, exportLink, " ", h("span", { class: "muted" }, `id ${a.audience_id} · ${a.method}`)),
    table([
      { label: "#", num: true, key: "rank" },
      { label: "User", render: r => userLink(r.user_id) },
      { label: "Score", num: true, render: r => fmt.num(r.score) },
      { label: "Why", key: "reasons" },
    ], a.users, r => ({ "data-user": r.user_id, "data-score": r.score })));
}


routes.campaign = campaignPage;
