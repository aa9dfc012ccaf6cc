/* Lists to act on: a segment's members (the segments page's drill-down) and the churn list.
   Both sort, page and export the same rows as CSV; a page's controls redraw only its table,
   through the visit that opened it (so leaving the page drops their answers too). */
"use strict";

const PAGE_SIZE = 50;

/* Download `path` (an API route answering CSV) as `filename`. */
async function downloadCsv(nav, path, filename) {
  const csv = await nav.api(path);
  const url = URL.createObjectURL(new Blob([csv], { type: "text/csv" }));
  const link = h("a", { href: url, download: filename });
  document.body.append(link); link.click(); link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

function select(name, label, options, value, onchange) {
  const el = h("select", { name, onchange: () => onchange(el.value) },
    options.map(([v, text]) => h("option", { value: v, selected: v === value }, text)));
  return h("label", {}, label, el);
}

/* Previous / next buttons and "rows a-b of n" for a list answer with total, offset, limit. */
function pager(answer, go) {
  const last = Math.min(answer.offset + answer.limit, answer.total);
  return h("div", { class: "pager", "data-testid": "pager" },
    h("button", { type: "button", "data-testid": "prev", disabled: answer.offset === 0,
                  onclick: () => go(Math.max(0, answer.offset - answer.limit)) }, "‹ Previous"),
    h("span", { class: "muted" }, answer.total ? `${fmt.num(answer.offset + 1)}–${fmt.num(last)} of ` +
      `${fmt.num(answer.total)}` : "none"),
    h("button", { type: "button", "data-testid": "next", disabled: last >= answer.total,
                  onclick: () => go(answer.offset + answer.limit) }, "Next ›"));
}

const riskCell = r => r.churn_probability === null || r.churn_probability === undefined ? "–" :
  h("div", { style: "display:flex;gap:.5rem;align-items:center;white-space:nowrap" },
    h("div", { class: "bar", style: `width:${Math.round(r.churn_probability * 120)}px` }),
    fmt.pct(r.churn_probability));

const MEMBER_SORTS = [["value_at_risk", "Value at risk"], ["spend", "Spend"],
                      ["recency", "Most recent"], ["churn", "Churn risk"]];

async function segmentMembersPage(name, nav) {
  const how = { sort: "value_at_risk", offset: 0 };
  const enc = encodeURIComponent(name);
  const body = h("div", { "data-testid": "members" });
  const query = () => `sort=${how.sort}`;
  async function draw() {
    const a = await nav.api(`/v1/segments/${enc}/members?${query()}&limit=${PAGE_SIZE}&offset=${how.offset}`);
    body.replaceChildren(
      h("p", { class: "muted", "data-testid": "members-total", "data-total": a.total },
        `${fmt.num(a.total)} members in the latest profiles; value at risk = CLV × churn risk.`),
      table([
        { label: "User", render: r => userLink(r.user_id) },
        { label: "Location", render: r => r.location || "–" },
        { label: "Orders", num: true, render: r => fmt.num(r.orders) },
        { label: "Spend", num: true, render: r => fmt.money(r.total_spend) },
        { label: "Recency (days)", num: true, render: r => fmt.num(r.recency_days) },
        { label: "Churn risk", render: riskCell },
        { label: "CLV (52 w)", num: true, render: r => fmt.money(r.clv) },
        { label: "Value at risk", num: true, render: r => fmt.money(r.value_at_risk) },
        { label: "Why at risk", render: r => h("span", { class: "reasons" }, r.reasons || "") },
      ], a.users, r => ({ "data-user": r.user_id, "data-var": r.value_at_risk })),
      pager(a, offset => { how.offset = offset; settle(draw(), body); }));
    return a;
  }
  const answer = await draw();
  nav.page(
    h("p", {}, h("a", { href: "#/segments" }, "‹ All segments")),
    h("h1", {}, `Segment: ${answer.segment}`),
    h("div", { class: "inline controls" },
      select("sort", "Sort by", MEMBER_SORTS, how.sort,
             v => { how.sort = v; how.offset = 0; settle(draw(), body); }),
      h("button", { type: "button", "data-testid": "export", onclick: () =>
        settle(downloadCsv(nav, `/v1/segments/${enc}/members/export?${query()}`,
                    `segment-${answer.segment.toLowerCase().replace(/[^a-z]+/g, "-")}.csv`), body) },
        "Export CSV"),
      h("a", { class: "button", href: `#/campaign/${enc}`, "data-testid": "campaign" },
        "Build a campaign for these")),
    body);
}

const CHURN_SORTS = [["churn", "Churn risk"], ["value_at_risk", "Value at risk"], ["clv", "CLV"]];

async function churnPage(_, nav) {
  const how = { sort: "churn", segment: "", min: "", offset: 0 };
  const body = h("div", { "data-testid": "churn-list" });
  const heading = h("p", { class: "muted", "data-testid": "churn-as-of" });
  const query = () => `sort=${how.sort}` + (how.segment ? `&segment=${encodeURIComponent(how.segment)}` : "") +
    (how.min ? `&min_probability=${Number(how.min) / 100}` : "");
  async function draw() {
    const data = await nav.api(`/v1/churn?${query()}&limit=${PAGE_SIZE}&offset=${how.offset}`);
    heading.setAttribute("data-as-of", data.as_of || "");
    heading.textContent = `${fmt.num(data.buyers)} buyers scored as of ${(data.as_of || "").slice(0, 10)} ` +
      "(shopguide churn score)" + (data.stale ? "; newer purchases are being scored now" : "") +
      "; value at risk = CLV × churn risk.";
    body.replaceChildren(table([
      { label: "User", render: r => userLink(r.user_id) },
      { label: "Segment", render: r => r.segment || "–" },
      { label: "Churn risk", render: riskCell },
      { label: "CLV (52 w)", num: true, render: r => fmt.money(r.clv) },
      { label: "Value at risk", num: true, render: r => fmt.money(r.value_at_risk) },
      { label: "Main drivers", render: r => h("span", { class: "reasons" }, r.reasons || "") },
    ], data.users, r => ({ "data-user": r.user_id, "data-p": r.churn_probability,
                           "data-var": r.value_at_risk })),
    pager({ total: data.buyers, offset: data.offset, limit: data.limit },
          offset => { how.offset = offset; settle(draw(), body); }));
  }
  const segments = await nav.api("/v1/segments");
  await draw();
  const redraw = () => { how.offset = 0; settle(draw(), body); };
  nav.page(h("h1", {}, "Churn risk"), heading,
    h("div", { class: "inline controls" },
      select("sort", "Sort by", CHURN_SORTS, how.sort, v => { how.sort = v; redraw(); }),
      select("segment", "Segment", [["", "All segments"], ...segments.map(s => [s.segment, s.segment])],
             how.segment, v => { how.segment = v; redraw(); }),
      select("min", "Churn risk", [["", "any"], ["25", "25 % or more"], ["50", "50 % or more"],
                                   ["75", "75 % or more"]], how.min, v => { how.min = v; redraw(); }),
      h("button", { type: "button", "data-testid": "export",
                    onclick: () => settle(downloadCsv(nav, `/v1/churn/export?${query()}`, "churn.csv"), body) },
        "Export CSV")),
    body);
}

routes.churn = churnPage;
