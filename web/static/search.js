// Results as you type: the server renders the same results fragment the page
// uses without JavaScript; only the newest answer is ever shown. Requests made
// while typing say so (typing=1): the last word may be unfinished.
(() => {
  const form = document.querySelector("form.search");
  const input = document.getElementById("q");
  const results = document.getElementById("results");
  if (!form || !input || !results || !window.fetch) return;

  const DELAY_MS = 250;
  let latest = 0;
  let timer = null;
  let controller = null;

  function pageUrl() {
    const params = new URLSearchParams(new FormData(form));
    for (const [key, value] of [...params]) if (!value.trim()) params.delete(key);
    const query = params.toString();
    return form.action.split("?")[0] + (query ? "?" + query : "");
  }

  async function update(typing) {
    const ticket = ++latest;
    if (controller) controller.abort();
    controller = new AbortController();
    const url = pageUrl();
    history.replaceState(null, "", url);
    if (!input.value.trim()) {
      results.replaceChildren();
      return;
    }
    results.setAttribute("aria-busy", "true");
    try {
      const separator = url.includes("?") ? "&" : "?";
      const response = await fetch(url + separator + "partial=1" + (typing ? "&typing=1" : ""), { signal: controller.signal });
      const html = await response.text();
      if (ticket !== latest) return; // a newer query was typed meanwhile
      results.innerHTML = html; // server-rendered and escaped, same as the full page
      document.title = input.value.trim() + " · News search";
    } catch (error) {
      if (error.name !== "AbortError" && ticket === latest) {
        results.innerHTML = "";
        const p = document.createElement("p");
        p.className = "error";
        p.setAttribute("role", "alert");
        p.textContent = "The search could not be reached; press Enter to try again.";
        results.append(p);
      }
    } finally {
      if (ticket === latest) results.removeAttribute("aria-busy");
    }
  }

  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => update(true), DELAY_MS);
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    clearTimeout(timer);
    update(false);
  });
})();
