// <multilingual-search>: a search box and results for any page.
//
//   <script src="https://HOST/widget.js" defer></script>
//   <multilingual-search language="ar" per-page="5"></multilingual-search>
//
// Attributes: api (base URL of the search service; defaults to where this
// script was loaded from), language (ar, de, nl, en: only that language),
// per-page (1-50), placeholder, sort ("newest" for the latest first), from and
// to (a year, month or day: only articles published then). Everything lives
// in a shadow root, so the host page's styles cannot break it and its styles
// cannot leak out.
(() => {
  const SCRIPT_ORIGIN = document.currentScript ? new URL(document.currentScript.src, location.href).origin : location.origin;
  const RTL = new Set(["ar", "fa", "he", "ur"]);
  const NAMES = { ar: "العربية", de: "Deutsch", nl: "Nederlands", en: "English", und: "Other" };
  const DELAY_MS = 250;

  const CSS = `
    :host { display: block; }
    /* Our own root sets everything that would otherwise be inherited from the host page. */
    .w { all: initial; display: block; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", "Noto Sans", "Noto Naskh Arabic", sans-serif;
         color: #1b1f24; background: #fff; text-align: start; letter-spacing: normal; word-spacing: normal; }
    * { box-sizing: border-box; }
    form { display: flex; gap: .4rem; margin: 0 0 .5rem; }
    label { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
    input { flex: 1; min-width: 0; font: inherit; padding: .45rem .6rem; border: 2px solid #6e7781; border-radius: .4rem; color: inherit; background: #fff; }
    button { font: inherit; padding: .45rem .8rem; border: 0; border-radius: .4rem; background: #0b57d0; color: #fff; cursor: pointer; }
    button[disabled] { opacity: .5; cursor: default; }
    .facets { display: flex; flex-wrap: wrap; gap: .3rem; margin: .25rem 0; }
    button.facet { padding: .15rem .5rem; font-size: .85rem; background: #eef1f5; color: #1b1f24; }
    button.facet[aria-pressed="true"] { background: #0b57d0; color: #fff; }
    :focus-visible { outline: 3px solid #0b57d0; outline-offset: 2px; }
    .status { color: #57606a; font-size: .85rem; margin: .25rem 0; }
    .error { color: #a40e26; }
    ol { list-style: none; margin: 0; padding: 0; }
    li { padding: .6rem 0; border-bottom: 1px solid #d0d7de; }
    h3 { margin: 0 0 .15rem; font-size: 1rem; line-height: 1.35; }
    a { color: #0b57d0; }
    p { margin: 0; overflow-wrap: anywhere; }
    .meta { color: #57606a; font-size: .8rem; }
    [lang=ar] { line-height: 1.8; }
    mark { background: #ffe27a; color: inherit; }
    nav { display: flex; gap: .4rem; margin-top: .5rem; }
  `;

  function sheet(root) {
    if ("adoptedStyleSheets" in root && window.CSSStyleSheet && "replaceSync" in CSSStyleSheet.prototype) {
      const s = new CSSStyleSheet();
      s.replaceSync(CSS);
      root.adoptedStyleSheets = [s];
    } else {
      const style = document.createElement("style");
      style.textContent = CSS;
      root.append(style);
    }
  }

  // The API escapes snippets and titles; we still rebuild them from text and <mark> only.
  function markedNodes(html) {
    const template = document.createElement("template");
    template.innerHTML = html;
    const out = document.createDocumentFragment();
    for (const node of template.content.childNodes) {
      if (node.nodeName === "MARK") {
        const mark = document.createElement("mark");
        mark.textContent = node.textContent;
        out.append(mark);
      } else {
        out.append(document.createTextNode(node.textContent));
      }
    }
    return out;
  }

  const DATE_LOCALES = { ar: "ar-EG", de: "de-DE", nl: "nl-NL", en: "en-GB" };

  // The day an article was published (the day as its record wrote it, in its
  // own zone), as a reader of its language writes it, like the search page.
  function shownDate(iso, lang) {
    const [year, month, day] = iso.slice(0, 10).split("-").map(Number);
    const date = new Date(Date.UTC(year, month - 1, day));
    if (!DATE_LOCALES[lang]) return iso.slice(0, 10);
    return new Intl.DateTimeFormat(DATE_LOCALES[lang], { dateStyle: "long", timeZone: "UTC" }).format(date);
  }

  function el(tag, props = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props)) {
      if (value === undefined || value === null || value === "") continue;
      if (key === "text") node.textContent = value;
      else node.setAttribute(key, value);
    }
    node.append(...children);
    return node;
  }

  let counter = 0;

  class MultilingualSearch extends HTMLElement {
    constructor() {
      super();
      this.root = this.attachShadow({ mode: "open" });
      this.latest = 0;
      this.page = 1;
      this.timer = null;
      this.controller = null;
      this.source = "";
      this.period = "";
    }

    get api() { return (this.getAttribute("api") || SCRIPT_ORIGIN).replace(/\/+$/, ""); }
    get language() { return (this.getAttribute("language") || "").trim(); }
    get perPage() { return (this.getAttribute("per-page") || "").trim(); }

    connectedCallback() {
      if (this.root.childNodes.length) return;
      sheet(this.root);
      const id = `ms-q-${++counter}`;
      this.input = el("input", { id, type: "search", dir: "auto", autocomplete: "off",
                                 placeholder: this.getAttribute("placeholder") || "Search news…" });
      this.form = el("form", { role: "search" },
        el("label", { for: id, text: "Search news" }), this.input, el("button", { type: "submit", text: "Search" }));
      this.status = el("p", { class: "status", role: "status", "aria-live": "polite" });
      this.sources = el("p", { class: "facets", role: "group", "aria-label": "Filter by source" });
      this.periods = el("p", { class: "facets", role: "group", "aria-label": "Filter by date" });
      this.list = el("ol");
      this.nav = el("nav", { "aria-label": "Pages" });
      this.root.append(el("div", { class: "w" }, this.form, this.status, this.sources, this.periods, this.list, this.nav));
      this.input.addEventListener("input", () => {
        clearTimeout(this.timer);
        this.page = 1;
        this.source = "";
        this.period = "";
        this.timer = setTimeout(() => this.search(true), DELAY_MS);
      });
      this.form.addEventListener("submit", (event) => {
        event.preventDefault();
        clearTimeout(this.timer);
        this.page = 1;
        this.search();
      });
    }

    async search(typing = false) {
      const q = this.input.value.trim();
      const ticket = ++this.latest;
      if (this.controller) this.controller.abort();
      if (!q) {
        this.sources.replaceChildren();
        this.periods.replaceChildren();
        this.list.replaceChildren();
        this.nav.replaceChildren();
        this.status.textContent = "";
        return;
      }
      this.controller = new AbortController();
      // While typing, the last word may be unfinished: send it as typed (a
      // trailing space says it is finished) and say so.
      const params = new URLSearchParams({ q: typing ? this.input.value.trimStart() : q, page: String(this.page) });
      if (typing) params.set("typing", "1");
      if (this.language) params.set("lang", this.language);
      if (this.perPage) params.set("per_page", this.perPage);
      if (this.source) params.set("source", this.source);
      for (const name of ["sort", "from", "to"]) {
        const value = (this.getAttribute(name) || "").trim();
        if (value) params.set(name, value);
      }
      if (this.period) ["from", "to"].forEach((name) => params.set(name, this.period));
      try {
        const response = await fetch(`${this.api}/api/search?${params}`, { signal: this.controller.signal });
        const data = await response.json();
        if (ticket !== this.latest) return; // a newer query was typed meanwhile
        if (!response.ok) {
          this.showError(data.error ? data.error.message : `Error ${response.status}`);
          return;
        }
        this.render(data, q);
      } catch (error) {
        if (error.name !== "AbortError" && ticket === this.latest) this.showError("The search could not be reached.");
      }
    }

    showError(message) {
      this.sources.replaceChildren();
      this.periods.replaceChildren();
      this.list.replaceChildren();
      this.nav.replaceChildren();
      this.status.className = "status error";
      this.status.textContent = message;
    }

    render(data, q) {
      this.status.className = "status";
      this.status.textContent = data.total === 1 ? "1 result" : `${data.total.toLocaleString()} results`;
      if (data.suggestion) this.status.textContent += ` · did you mean “${data.suggestion}”?`;
      this.list.replaceChildren(...data.results.map((hit) => {
        const href = `${this.api}/articles/${encodeURIComponent(hit.id)}?q=${encodeURIComponent(q)}`;
        const meta = [hit.source_name, !hit.published && hit.date, NAMES[hit.lang] || hit.lang, hit.by_meaning && "related in meaning"]
          .filter(Boolean).join(" · ");
        const when = hit.published ? [el("time", { datetime: hit.published, lang: hit.lang, text: shownDate(hit.published, hit.lang) }), " · "] : [];
        const also = (hit.also_in || []).map((other) => el("a", {
          href: `${this.api}/articles/${encodeURIComponent(other.id)}`, target: "_blank", rel: "noopener",
          hreflang: other.lang, title: other.title, text: NAMES[other.lang] || other.lang,
        }));
        return el("li", {},
          el("article", { lang: hit.lang === "und" ? "" : hit.lang, dir: RTL.has(hit.lang) ? "rtl" : "ltr" },
            el("h3", {}, el("a", { href, target: "_blank", rel: "noopener" }, markedNodes(hit.title_html))),
            el("p", { class: "meta", dir: "ltr" }, ...when, meta),
            el("p", { class: "snippet" }, markedNodes(hit.snippet)),
            ...(also.length ? [el("p", { class: "also-in", dir: "ltr" }, "Also in: ",
              ...also.flatMap((a, i) => (i ? [" · ", a] : [a])))] : [])));
      }));
      this.renderFacets(data);
      const pages = Math.ceil(data.total / data.per_page);
      this.nav.replaceChildren();
      if (pages > 1) {
        const prev = el("button", { type: "button", text: "‹ Previous" });
        const next = el("button", { type: "button", text: "Next ›" });
        prev.disabled = data.page <= 1;
        next.disabled = data.page >= pages;
        prev.addEventListener("click", () => { this.page -= 1; this.refocus = "prev"; this.search(); });
        next.addEventListener("click", () => { this.page += 1; this.refocus = "next"; this.search(); });
        this.nav.append(prev, el("span", { class: "status", text: `${data.page} / ${pages}` }), next);
        // Keep keyboard focus on the page buttons, which were just replaced.
        const wanted = this.refocus === "prev" ? prev : this.refocus === "next" ? next : null;
        if (wanted) (wanted.disabled ? (wanted === prev ? next : prev) : wanted).focus();
      }
      this.refocus = null;
    }

    // The facets: a button per source (its readable name) and per period
    // (year, month or day), with its count, pressed for the one chosen;
    // choosing it again lets go of it.
    renderFacets(data) {
      const facet = (box, counts, chosen, name, choose) => {
        box.replaceChildren();
        if (counts.length < 2 && !chosen) return;
        const same = (value) => value.toLowerCase() === chosen.toLowerCase();
        if (chosen && !counts.some(([value]) => same(value))) counts.unshift([chosen, data.total]); // a year, shown by month
        for (const [value, count] of counts) {
          const pressed = same(value);
          const button = el("button", { type: "button", class: "facet", "aria-pressed": String(pressed),
                                        text: `${name(value)} ${count}` });
          button.addEventListener("click", () => {
            choose(pressed ? "" : value);
            this.page = 1;
            this.search();
          });
          box.append(button);
        }
      };
      facet(this.sources, Object.entries(data.facets.source || {}).slice(0, 8), this.source,
            (source) => data.source_names[source] || source, (source) => { this.source = source; });
      facet(this.periods, Object.entries(data.facets.date || {}).slice(-12), this.period,
            (period) => period, (period) => { this.period = period; });
    }
  }

  if (!customElements.get("multilingual-search")) customElements.define("multilingual-search", MultilingualSearch);
})();
