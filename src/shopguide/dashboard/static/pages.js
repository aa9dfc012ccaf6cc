/* The dashboard's pages. Each is `async (arg, nav)`: it asks the API through `nav.api` and
   draws with `nav.page`, which refuse once the user has moved on (see app.js). */
"use strict";

/* "+12.3 % vs 2024-03-02 – 2024-03-31" (or nothing when there is nothing to compare with). */
function changeNote(change, previous) {
  if (change === null || change === undefined) return h("div", { class: "muted change" }, "no earlier figure");
  const up = change >= 0;
  return h("div", { class: `change ${up ? "up" : "down"}`, "data-change": change,
                    title: `against ${previous.start} – ${previous.end}` },
    `${up ? "▲ +" : "▼ "}${(100 * change).toFixed(1)} % vs previous ${previous.end === previous.start ? "day" : "period"}`);
}

async function overviewPage(range, nav) {
  // the range is in the address: #/overview/2024-04-01..2024-04-30 (either end may be empty)
  const [start, end] = (range || "").split("..");
  const query = new URLSearchParams();
  if (start) query.set("start", start);
  if (end) query.set("end", end);
  const data = await nav.api("/v1/overview" + (query.toString() ? `?${query}` : ""));
  if (!data.kpis) return nav.page(h("h1", {}, "Overview"), h("p", {}, "The store has no events yet."));
  const k = data.kpis, p = data.period;
  const shown = p || k;
  const card = (key, label, value, raw) =>
    h("div", { class: "card", "data-kpi": key, "data-raw": raw },
      h("div", { class: "label" }, label), h("div", { class: "value" }, value),
      p ? changeNote(p.change[key], p.previous) : null);
  const months = [...new Set(data.trends.map(t => String(t.month).slice(0, 7)))];
  const series = {};
  for (const t of data.trends) {
    series[t.name] = series[t.name] || months.map(() => 0);
    series[t.name][months.indexOf(String(t.month).slice(0, 7))] = t.revenue;
  }
  const from = h("input", { type: "date", name: "start", value: start || "",
                            min: fmt.date(k.first_event), max: fmt.date(k.last_event) });
  const to = h("input", { type: "date", name: "end", value: end || "",
                          min: fmt.date(k.first_event), max: fmt.date(k.last_event) });
  const picker = h("form", { class: "inline", "data-testid": "range", onsubmit: e => {
    e.preventDefault();
    location.hash = from.value || to.value ? `#/overview/${from.value}..${to.value}` : "#/overview";
  } },
    h("label", {}, "From", from), h("label", {}, "To", to),
    h("button", { type: "submit" }, "Show range"),
    p ? h("a", { class: "button", href: "#/overview", "data-testid": "all-time" }, "All time") : null);
  nav.page(
    h("h1", {}, "Overview"),
    h("p", { class: "muted", "data-testid": "showing" }, p
      ? `${p.start} to ${p.end} (${p.days} days), compared with ${p.previous.start} to ${p.previous.end}`
      : `Events from ${fmt.date(k.first_event)} to ${fmt.date(k.last_event)}`),
    picker,
    h("div", { class: "cards" },
      card("revenue", "Revenue (net of refunds)", fmt.money(shown.revenue), shown.revenue),
      card("orders", "Orders", fmt.num(shown.orders), shown.orders),
      card("buyers", "Buyers", fmt.num(shown.buyers), shown.buyers),
      card("users", "Users with events", fmt.num(shown.users), shown.users),
      card("avg_order_value", "Average order value", fmt.num(shown.avg_order_value), shown.avg_order_value),
      card("items_sold", "Items sold", fmt.num(shown.items_sold), shown.items_sold)),
    h("h2", {}, "Monthly revenue by category"),
    h("div", { class: "panel", "data-testid": "trend-chart" }, stackedColumns(months, series)));
}

/* From/To date inputs that open `hash?start=..&end=..` (either may be empty). */
function rangeForm(hash, start, end, bounds) {
  const input = (name, value) => h("input", { type: "date", name, value: value || "",
                                              min: bounds[0], max: bounds[1] });
  const from = input("start", start), to = input("end", end);
  return h("form", { class: "inline", "data-testid": "range", onsubmit: e => {
    e.preventDefault();
    const q = new URLSearchParams();
    if (from.value) q.set("start", from.value);
    if (to.value) q.set("end", to.value);
    location.hash = q.toString() ? `${hash}?${q}` : hash;
  } },
    h("label", {}, "From", from), h("label", {}, "To", to),
    h("button", { type: "submit" }, "Show range"),
    start || end ? h("a", { class: "button", href: hash, "data-testid": "all-time" }, "All time") : null);
}

async function segmentsPage(name, nav) {
  if (name) return segmentMembersPage(name, nav);  // a segment's drill-down (lists.js)
  const start = nav.query.get("start") || "", end = nav.query.get("end") || "";
  const q = new URLSearchParams();
  if (start) q.set("start", start);
  if (end) q.set("end", end);
  const [rows, overview] = await Promise.all([
    nav.api("/v1/segments" + (q.toString() ? `?${q}` : "")), nav.api("/v1/overview")]);
  const k = overview.kpis || {};
  const ranged = rows.some(r => "period" in r);
  const pct = (r, key) => r.period && r.period.change[key] !== null ?
    h("span", { class: `change ${r.period.change[key] >= 0 ? "up" : "down"}`,
                "data-change": r.period.change[key] },
      `${r.period.change[key] >= 0 ? "▲ +" : "▼ "}${(100 * r.period.change[key]).toFixed(1)} %`) : "–";
  const rangeColumns = ranged ? [
    { label: "Revenue in range", num: true, render: r => r.period ? fmt.money(r.period.revenue) : "–" },
    { label: "vs before", num: true, render: r => pct(r, "revenue") },
    { label: "Orders in range", num: true, render: r => r.period ? fmt.num(r.period.orders) : "–" },
    { label: "Buyers in range", num: true, render: r => r.period ? fmt.num(r.period.buyers) : "–" },
  ] : [];
  nav.page(
    h("h1", {}, "RFM segments"),
    rangeForm("#/segments", start, end, [fmt.date(k.first_event), fmt.date(k.last_event)]),
    ranged ? h("p", { class: "muted", "data-testid": "showing" },
      `Members' purchases from ${start || fmt.date(k.first_event)} to ${end || fmt.date(k.last_event)}, ` +
      "against as many days before; segments are those of the latest profiles.") : null,
    h("div", { class: "grid2" },
      h("div", { class: "panel" }, h("h2", {}, "Buyers per segment"),
        h("div", { "data-testid": "segment-users-chart" },
          barChart(rows.map(r => ({ label: r.segment, value: r.users }))))),
      h("div", { class: "panel" }, h("h2", {}, "Share of revenue"),
        barChart(rows.map(r => ({ label: r.segment, value: r.revenue_share })),
                 { color: SG_COLORS[1], format: v => fmt.pct(v) }))),
    h("h2", {}, "Segments"),
    table([
      { label: "Segment", render: r => h("a", { href: `#/segments/${encodeURIComponent(r.segment)}` },
          r.segment) },
      { label: "Buyers", num: true, render: r => fmt.num(r.users) },
      { label: "Share", num: true, render: r => fmt.pct(r.user_share) },
      { label: "Revenue", num: true, render: r => fmt.money(r.revenue) },
      { label: "Revenue share", num: true, render: r => fmt.pct(r.revenue_share) },
      { label: "Recency (days)", num: true, render: r => fmt.num(r.avg_recency_days) },
      { label: "Orders", num: true, render: r => fmt.num(r.avg_frequency) },
      ...rangeColumns,
    ], rows, r => ({ "data-segment": r.segment, "data-users": r.users,
                     "data-period-revenue": r.period ? r.period.revenue : null })));
}

function lookupForm(label, value, go) {
  const input = h("input", { name: "id", value: value || "", placeholder: label, required: true });
  return h("form", { class: "inline", "data-testid": "lookup",
                     onsubmit: e => { e.preventDefault(); go(input.value.trim()); } },
    h("label", {}, label, input), h("button", { type: "submit" }, "Show"));
}

const GENDERS = { M: "male", F: "female", O: "other" };
const WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

/* One line of a <dl>: label, value, and the raw value for tests in data-raw. */
const fact = (label, value, key, raw) =>
  h("div", { "data-field": key, "data-raw": raw }, h("dt", {}, label), h("dd", {}, value));

/* Top categories or brands as pills: name, share of spend and affinity (vs the average user). */
const tops = entries => entries && entries.length ? entries.map(e =>
  h("span", { class: "pill", title: `${fmt.money(e.spend)} spent` }, e.name,
    e.share === null ? "" : ` ${fmt.pct(e.share)}`,
    e.affinity === null ? "" : ` · ${fmt.num(e.affinity)}×`)) : "–";

/* "Tuesdays around 18:00" from the profile's preferred ISO weekday (1 = Monday) and hour. */
function when(weekday, hour) {
  if (weekday === null && hour === null) return "–";
  const day = weekday === null ? "" : WEEKDAYS[weekday - 1] + "s";  // ISO: 1 = Monday
  const time = hour === null ? "" : `around ${String(hour).padStart(2, "0")}:00`;
  return [day, time].filter(Boolean).join(" ");
}

async function userPage(id, nav) {
  const form = lookupForm("User id", id, v => { location.hash = `#/user/${encodeURIComponent(v)}`; });
  if (!id) return nav.page(h("h1", {}, "User 360°"), form,
                       h("p", { class: "muted" }, "Pick a user, or open one from the churn list."));
  nav.page(h("h1", {}, `User ${id}`), form, h("p", { class: "muted" }, "Loading…"));
  const enc = encodeURIComponent(id);
  const [profile, history, recs, retention, lifecycle] = await Promise.allSettled([
    nav.api(`/v1/users/${enc}/profile`), nav.api(`/v1/users/${enc}/history?limit=20`),
    nav.api(`/v1/users/${enc}/recommendations?n=10&explain=true`), nav.api(`/v1/users/${enc}/retention`),
    nav.api(`/v1/users/${enc}/lifecycle`),
  ]);
  nav.check();
  // no profile and no event: nobody has this id (a known user without events has a profile)
  if (profile.status === "rejected" && profile.reason.status === 404 &&
      history.status === "fulfilled" && !history.value.length) {
    return nav.page(h("h1", {}, "No such user"), form,
      h("p", { class: "notfound", "data-testid": "not-found" },
        `No user has the id "${id}". Check the id, or find the user with the search box above.`));
  }
  const parts = [h("h1", {}, `User ${id}`), form];
  if (profile.status === "fulfilled") {
    const p = profile.value, b = p.behaviour, l = p.lifecycle, pref = p.preferences, basic = p.basic;
    const item = (label, value, key) => h("div", { class: "card", "data-field": key },
      h("div", { class: "label" }, label), h("div", { class: "value" }, value));
    parts.push(h("h2", {}, `Profile (as of ${fmt.date(p.as_of)})`),
      h("p", { class: "muted", "data-testid": "population-as-of" }, `Affinity, price index and RFM compared with the population as of ${String(p.population_as_of || "–").replace("T", " ").slice(0, 16)}`),
      h("div", { class: "cards", "data-testid": "profile" },
        item("Segment", l.segment || "–", "segment"),
        item("Orders", fmt.num(b.orders), "orders"),
        item("Total spend", fmt.money(b.total_spend), "total_spend"),
        item("Avg order value", fmt.num(b.avg_order_value), "avg_order_value"),
        item("Recency (days)", fmt.num(b.recency_days), "recency_days"),
        item("Top category", pref.top_category || "–", "top_category"),
        item("Price band", pref.price_band || "–", "price_band"),
        item("Location", basic.location || "–", "location")),
      h("div", { class: "grid2" },
        h("div", { class: "panel", "data-testid": "demographics" }, h("h2", {}, "Who"),
          h("dl", { class: "facts" },
            fact("Gender", GENDERS[basic.gender] || basic.gender || "–", "gender"),
            fact("Age", basic.age_band || "–", "age_band"),
            fact("Location", basic.location || "–", "location"),
            fact("Signed up", fmt.date(basic.signup_at), "signup_at"),
            fact("First seen", fmt.date(basic.first_seen_at), "first_seen_at"),
            fact("Customer for", basic.tenure_days === null ? "–" : `${fmt.num(basic.tenure_days)} days`,
                 "tenure_days"))),
        h("div", { class: "panel", "data-testid": "preferences" }, h("h2", {}, "Preferences"),
          h("dl", { class: "facts" },
            fact("Categories", tops(b.top_categories), "top_categories",
                 (b.top_categories || []).map(e => e.name).join("|")),
            fact("Brands", tops(pref.top_brands), "top_brands",
                 (pref.top_brands || []).map(e => e.name).join("|")),
            fact("Price band", pref.price_band || "–", "price_band"),
            fact("Price sensitivity", fmt.num(pref.price_sensitivity), "price_sensitivity",
                 pref.price_sensitivity),
            fact("Money off list price", fmt.pct(pref.discount_rate), "discount_rate", pref.discount_rate),
            fact("Usually shops", when(b.preferred_weekday, b.preferred_hour), "preferred_time")))));
  } else {
    parts.push(h("p", { class: "muted", "data-testid": "no-profile" },
      `No profile: ${profile.reason.message}`));
  }
  const side = [];
  if (retention.status === "fulfilled") {
    const c = retention.value.churn, v = retention.value.clv;
    if (c) {
      side.push(h("div", { "data-testid": "churn", "data-p": c.churn_probability },
        gauge(c.churn_probability, "churn risk"), h("p", { class: "muted" }, c.reasons || "")));
    }
    if (v) {
      side.push(h("div", { class: "cards" },
        h("div", { class: "card", "data-testid": "clv", "data-raw": v.clv },
          h("div", { class: "label" }, "CLV, next 52 weeks"), h("div", { class: "value" }, fmt.money(v.clv))),
        h("div", { class: "card", "data-testid": "p-alive", "data-raw": v.p_alive },
          h("div", { class: "label" }, "P(alive)"),
          h("div", { class: "value" }, v.p_alive === null && v.value_note ? "not informative"
            : fmt.pct(v.p_alive)))),
        v.value_note ? h("p", { class: "muted", "data-testid": "value-note" }, v.value_note)
          : null);
    }
  }
  const recBlock = recs.status === "fulfilled" ? h("ol", { "data-testid": "recommendations",
      "data-strategy": recs.value.strategy },
    recs.value.items.map(r => h("li", { "data-item": r.item_id },
      itemLink(r.item_id, r.title), " ", h("span", { class: "pill" }, r.category || ""),
      h("div", { class: "muted" }, r.reason || ""))))
    : errorBox(recs.reason);
  parts.push(h("div", { class: "grid2" },
    h("div", { class: "panel" }, h("h2", {}, "Recommendations"), recBlock),
    h("div", { class: "panel" }, h("h2", {}, "Churn risk and value"),
      side.length ? side : h("p", { class: "muted" }, "No purchases: no churn or CLV estimate."))));
  if (lifecycle.status === "fulfilled" && lifecycle.value.length) {
    parts.push(h("h2", {}, "Lifecycle"),
      h("p", { class: "muted" }, "The user's segment in each profile version, oldest first."),
      table([
        { label: "As of", render: r => fmt.date(r.as_of) },
        { label: "Segment", render: r => r.segment || "no purchase yet" },
        { label: "R / F / M", render: r => r.r_score === null ? "–" : `${r.r_score} / ${r.f_score} / ${r.m_score}` },
        { label: "Orders", num: true, render: r => fmt.num(r.orders) },
        { label: "Spend", num: true, render: r => fmt.money(r.total_spend) },
        { label: "Recency (days)", num: true, render: r => fmt.num(r.recency_days) },
      ], lifecycle.value, r => ({ "data-as-of": fmt.date(r.as_of), "data-segment": r.segment || "" })));
  }
  if (history.status === "fulfilled") {
    parts.push(h("h2", {}, "Latest events"), table([
      { label: "When", render: r => String(r.timestamp).replace("T", " ").slice(0, 16) },
      { label: "Event", key: "event_type" },
      { label: "Item", render: r => itemLink(r.item_id, r.title) },
      { label: "Qty", num: true, render: r => fmt.num(r.quantity) },
      { label: "Price", num: true, render: r => fmt.num(r.price) },
    ], history.value, r => ({ "data-event": r.event_type })));
  }
  nav.page(...parts);
}

async function itemPage(id, nav) {
  const form = lookupForm("Item id", id, v => { location.hash = `#/item/${encodeURIComponent(v)}`; });
  if (!id) return nav.page(h("h1", {}, "Items"), form,
                       h("p", { class: "muted" }, "Pick an item, or open one from a user's page."));
  const enc = encodeURIComponent(id);
  const answers = await Promise.allSettled([
    nav.api(`/v1/items/${enc}`), nav.api(`/v1/items/${enc}/similar?n=10`),
    nav.api(`/v1/items/${enc}/together?n=10`),
  ]);
  nav.check();
  if (answers[0].status === "rejected" && answers[0].reason.status === 404) {
    return nav.page(h("h1", {}, "No such item"), form,
      h("p", { class: "notfound", "data-testid": "not-found" },
        `No item has the id "${id}". Check the id, or find the item with the search box above.`));
  }
  const failed = answers.find(a => a.status === "rejected");
  if (failed) throw failed.reason;
  const [item, similar, together] = answers.map(a => a.value);
  const list = (rows, score, label) => rows.length ? table([
    { label: "Item", render: r => itemLink(r.item_id, r.title) },
    { label: "Category", key: "category" },
    { label: label, num: true, render: r => fmt.num(r[score]) },
  ], rows, r => ({ "data-item": r.item_id })) : h("p", { class: "muted" }, "Nothing yet.");
  nav.page(h("h1", {}, item.title || id), form,
    h("div", { class: "cards", "data-testid": "item" },
      ...[["Category", item.category], ["Brand", item.brand || "–"], ["Price", fmt.num(item.price)],
          ["Buyers", fmt.num(item.buyers)], ["Units sold", fmt.num(item.units)],
          ["Revenue", fmt.money(item.revenue)]].map(([l, v]) =>
        h("div", { class: "card" }, h("div", { class: "label" }, l), h("div", { class: "value" }, v)))),
    h("div", { class: "grid2" },
      h("div", { class: "panel", "data-testid": "similar" }, h("h2", {}, "Similar items"),
        list(similar.items, "similarity", "Similarity")),
      h("div", { class: "panel", "data-testid": "together" }, h("h2", {}, "Frequently bought together"),
        list(together.items, "confidence", "Confidence"))));
}

Object.assign(routes, { overview: overviewPage, segments: segmentsPage, user: userPage,
                       item: itemPage });
