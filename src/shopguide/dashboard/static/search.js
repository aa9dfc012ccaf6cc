/* The search box in the header: suggestions for users, items and segments as you type. */
"use strict";

(function () {
  const input = document.getElementById("search");
  const list = document.getElementById("suggestions");
  let asked = 0;      // the number of the latest question: older answers are dropped
  let timer = null;

  function close() { list.hidden = true; list.replaceChildren(); input.setAttribute("aria-expanded", "false"); }

  function choose(link) {
    location.hash = link.getAttribute("href");
    input.value = "";
    close();
    input.blur();
  }

  function entry(kind, href, label, detail, id) {
    return h("li", { role: "option", "data-kind": kind, "data-id": id },
      h("a", { href, onmousedown: e => { e.preventDefault(); choose(e.currentTarget); } },
        h("span", { class: "pill" }, kind), " ", label,
        detail ? h("span", { class: "muted" }, " · " + detail) : null));
  }

  function show(found) {
    const rows = [
      ...found.users.map(u => entry("user", `#/user/${encodeURIComponent(u.user_id)}`, u.user_id,
        [u.segment, u.location].filter(Boolean).join(", "), u.user_id)),
      ...found.items.map(i => entry("item", `#/item/${encodeURIComponent(i.item_id)}`,
        i.title || i.item_id, [i.item_id, i.category].filter(Boolean).join(", "), i.item_id)),
      ...found.segments.map(s => entry("segment", `#/segments/${encodeURIComponent(s.segment)}`,
        s.segment, "members", s.segment)),
    ];
    if (!rows.length) rows.push(h("li", { class: "muted", "data-testid": "no-match" },
      `Nothing matches "${found.query}".`));
    list.replaceChildren(...rows);
    list.hidden = false;
    input.setAttribute("aria-expanded", "true");
  }

  async function ask() {
    const text = input.value.trim();
    const mine = ++asked;
    if (!text || !state.key) return close();
    try {
      const found = await api(`/v1/search?q=${encodeURIComponent(text)}&limit=6`);
      if (mine === asked) show(found);
    } catch (err) {
      if (mine === asked && err.status !== 401) {
        list.replaceChildren(h("li", { class: "error" }, err.message));
        list.hidden = false;
      }
    }
  }

  function move(step) {
    const options = [...list.querySelectorAll("li[role='option']")];
    if (!options.length) return;
    const at = options.findIndex(o => o.classList.contains("active"));
    options.forEach(o => o.classList.remove("active"));
    const next = options[(at + step + options.length) % options.length];
    next.classList.add("active");
    next.scrollIntoView({ block: "nearest" });
  }

  input.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(ask, 120); });
  input.addEventListener("keydown", e => {
    if (e.key === "ArrowDown" || e.key === "ArrowUp") { e.preventDefault(); move(e.key === "ArrowDown" ? 1 : -1); }
    else if (e.key === "Escape") close();
    else if (e.key === "Enter") {
      e.preventDefault();
      const pick = list.querySelector("li.active a") || list.querySelector("li[role='option'] a");
      if (pick) choose(pick);
    }
  });
  input.addEventListener("blur", () => setTimeout(close, 150));
})();
