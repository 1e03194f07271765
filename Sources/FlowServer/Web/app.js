// The web client of `flow serve`: drives the /v1 API and nothing else. Every text from a flow, a
// gateway or an answer is put into the page as text (textContent), never as markup.
const params = new URLSearchParams(location.search);
const flowName = params.get("flow");
const $ = (id) => document.getElementById(id);
const storageKey = (flow) => "flow.session." + flow;

let current = null;   // the last session answer
let busy = false;
let lastAnswers = null; // what was just sent for a page: kept in the fields when it is refused
let poll = null;        // the reading of a working session: {timer}; replaced or stopped by show()
const maxPollDelay = 10000;

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "text") e.textContent = v;
    else if (k === "className") e.className = v;
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) if (c) e.append(c);
  return e;
}

function announce(text, { quiet = false } = {}) {
  const a = $("announce");
  a.textContent = "";
  // Refusals are already shown next to their questions: announced, not shown twice.
  a.classList.toggle("visually-hidden", quiet);
  // A change of text is what a screen reader announces: set it after clearing.
  setTimeout(() => { a.textContent = text; }, 30);
}

async function api(method, path, body) {
  const init = { method, headers: { "Accept": "application/json" }, cache: "no-store" };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  let json = null;
  try { json = await response.json(); } catch { json = null; }
  return { status: response.status, json };
}

function sessionPath(id) { return "/v1/sessions/" + encodeURIComponent(id); }

async function start() {
  if (!flowName) return listFlows();
  document.title = flowName + " · flow";
  $("flow-title").textContent = flowName;
  const saved = sessionStorage.getItem(storageKey(flowName));
  if (saved) {
    const r = await api("GET", sessionPath(saved));
    if (r.status === 200 && r.json) return show(r.json, { restored: true });
    sessionStorage.removeItem(storageKey(flowName));
  }
  const flows = await api("GET", "/v1/flows");
  const flow = flows.json && flows.json.flows.find((f) => f.name === flowName);
  if (!flow) {
    $("step").replaceChildren(el("p", { text: "There is no flow of this name here." }), el("p", {}, el("a", { href: "/", text: "See the flows" })));
    return;
  }
  const args = {};
  for (const p of flow.parameters) if (params.has("arg." + p.name)) args[p.name] = params.get("arg." + p.name);
  const missing = flow.parameters.filter((p) => p.required && !(p.name in args));
  if (missing.length === 0) return create(args);
  startForm(flow, args);
}

function startForm(flow, known) {
  const form = el("form", { novalidate: true });
  const heading = el("h2", { tabindex: "-1", text: "Before we start" });
  flow.parameters.forEach((p, i) => {
    const id = "arg-" + i;
    const input = el("input", { id, type: "text", value: known[p.name] ?? null, required: p.required });
    input.dataset.name = p.name;
    form.append(el("div", { className: "question" }, el("label", { for: id, text: p.name }), input));
  });
  form.append(el("div", { className: "actions" }, el("button", { type: "submit", text: "Start" })));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const args = { ...known };
    for (const input of form.querySelectorAll("input")) if (input.value !== "") args[input.dataset.name] = input.value;
    create(args);
  });
  $("step").replaceChildren(heading, form);
  heading.focus();
}

async function create(args) {
  const r = await api("POST", "/v1/sessions", { flow: flowName, arguments: args });
  if (r.status === 201) {
    sessionStorage.setItem(storageKey(flowName), r.json.id);
    return show(r.json, {});
  }
  failed(r);
}

async function listFlows() {
  document.title = "flow";
  $("flow-title").textContent = "Flows";
  const r = await api("GET", "/v1/flows");
  const list = el("ul", { className: "flows" });
  for (const f of (r.json && r.json.flows) || []) {
    list.append(el("li", {}, el("a", { href: "/?flow=" + encodeURIComponent(f.name), text: f.name })));
  }
  const heading = el("h2", { tabindex: "-1", text: "Start a flow" });
  $("step").replaceChildren(heading, list);
}

function failed(r) {
  const message = (r.json && r.json.error && r.json.error.message) || ("the server answered " + r.status);
  announce("Something went wrong: " + message);
}

async function step(body) {
  // Nothing is sent while the session is working: what it does is already under way.
  if (busy || !current || current.status === "working") return;
  busy = true;
  for (const b of $("step").querySelectorAll("button")) b.disabled = true;
  let r;
  try {
    r = await api("POST", sessionPath(current.id) + "/steps", { version: current.version, ...body });
  } catch {
    r = null;
  }
  busy = false;
  if (r === null || r.status >= 500) {
    // The step may have reached the server all the same (a charge being made while a proxy gave
    // up): say where the session stands rather than offer to send it again.
    const now = await read(current.id);
    if (now && (now.status === "working" || now.version !== current.version)) return show(now, {});
  }
  if (r === null) {
    for (const b of $("step").querySelectorAll("button")) b.disabled = false;
    announce("The server could not be reached. Try again.");
    return;
  }
  if (r.status === 200) return show(r.json, {});
  if (r.status === 409 && r.json && r.json.current) {
    show(r.json.current, {});
    if (r.json.current.status !== "working") announce("This page had already been answered; here is where the conversation stands now.");
    return;
  }
  if (r.status === 404) sessionStorage.removeItem(storageKey(flowName));
  for (const b of $("step").querySelectorAll("button")) b.disabled = false;
  failed(r);
}

/// The session as the server has it now, or null when it cannot be read.
async function read(id) {
  try {
    const r = await api("GET", sessionPath(id));
    return r.status === 200 && r.json ? r.json : null;
  } catch {
    return null;
  }
}

function renderConversation(s) {
  const list = $("conversation");
  const items = s.conversation || [];
  // Responses as they come: keep those shown, append the new ones.
  if (list.children.length > items.length) list.replaceChildren();
  for (let i = list.children.length; i < items.length; i++) list.append(el("li", { text: items[i] }));
}

function show(s, { restored }) {
  current = s;
  stopPolling();
  $("step").dataset.version = String(s.version);
  $("step").dataset.status = s.status;
  $("step").removeAttribute("aria-busy");
  renderConversation(s);
  if (s.status === "page") return showPage(s.page, restored);
  if (s.status === "extension") return showExtension(s);
  if (s.status === "finished") return showOutcome(s.outcome);
  showWorking(s);
}

/// A call the session made (a charge) is in progress, maybe from another tab or before a reload:
/// no form and nothing to send; the session is read again, less often each time, until it moves on.
function showWorking(s) {
  const heading = el("h2", { tabindex: "-1", id: "working-heading", text: "Working…" });
  const note = el("p", { className: "working", id: "working-note" }, el("span", { className: "spinner", "aria-hidden": "true" }),
                  document.createTextNode("Please wait: this page moves on by itself."));
  $("step").replaceChildren(heading, note);
  $("step").setAttribute("aria-busy", "true");
  $("step").dataset.reads = "0";
  heading.focus();
  poll = { timer: null };
  pollAgain(poll, s, 0);
}

function retryDelay(s) {
  const seconds = Number(s && s.working && s.working.retryAfter);
  return (Number.isFinite(seconds) && seconds > 0 ? seconds : 1) * 1000;
}

/// Reads the session after a delay: at least what the server asks (`retryAfter`), half as long
/// again as the last time, at most `maxPollDelay`. Never posts a step.
function pollAgain(p, s, last) {
  const delay = Math.min(Math.max(retryDelay(s), last * 1.5), maxPollDelay);
  p.timer = setTimeout(async () => {
    let r = null;
    try { r = await api("GET", sessionPath(s.id)); } catch { r = null; }
    if (poll !== p) return; // something else was shown meanwhile
    $("step").dataset.reads = String(Number($("step").dataset.reads || "0") + 1);
    if (r && r.status === 200 && r.json && r.json.status !== "working") return show(r.json, {});
    if (r && r.status === 404) {
      stopPolling();
      sessionStorage.removeItem(storageKey(flowName));
      return failed(r);
    }
    if (r && r.status === 200 && r.json) {
      current = r.json;
      $("step").dataset.version = String(r.json.version);
    }
    pollAgain(p, current, delay);
  }, delay);
}

function stopPolling() {
  if (poll && poll.timer) clearTimeout(poll.timer);
  poll = null;
}

const typeHints = {
  currency: "An amount, like 4.00",
  number: "A number",
  date: "A date",
  email: "An email address",
};

function questionControl(q, i) {
  const id = "q-" + i;
  const problemId = id + "-problem";
  const hintId = id + "-hint";
  const wrapper = el(q.type === "yesno" || q.type === "choices" || (q.type === "choice" && q.options.length <= 6) ? "fieldset" : "div",
                     { className: "question" });
  wrapper.dataset.name = q.name;
  wrapper.dataset.type = q.type;
  const labelText = [document.createTextNode(q.prompt || q.name)];
  if (q.optional) labelText.push(el("span", { className: "optional", text: " (optional)" }));
  const problem = el("p", { className: "problem", id: problemId, text: q.problem || "" });
  const describedBy = [q.problem ? problemId : null, hintId].filter(Boolean).join(" ");
  const invalid = q.problem ? "true" : null;
  const def = q.default;
  let hintText = typeHints[q.type] || null;
  if ((q.type === "currency" || q.type === "number") && (q.min !== null || q.max !== null)) {
    hintText = (hintText ? hintText + ", " : "") +
      (q.min !== null && q.max !== null ? "from " + q.min + " to " + q.max : q.min !== null ? "at least " + q.min : "at most " + q.max);
  }
  const hint = el("p", { className: "hint", id: hintId, text: hintText || "" });

  if (wrapper.tagName === "FIELDSET") {
    wrapper.setAttribute("aria-describedby", describedBy);
    if (invalid) wrapper.setAttribute("aria-invalid", "true");
    wrapper.append(el("legend", {}, ...labelText));
    const options = q.type === "yesno" ? [["true", "Yes"], ["false", "No"]] : q.options.map((o) => [o, o]);
    options.forEach(([value, text], k) => {
      const oid = id + "-" + k;
      const checked = q.type === "yesno" ? (def === true && value === "true") || (def === false && value === "false")
        : q.type === "choices" ? Array.isArray(def) && def.includes(value) : def === value;
      const input = el("input", { type: q.type === "choices" ? "checkbox" : "radio", id: oid, name: id, value, checked,
                                  required: !q.optional && q.type !== "choices" && k === 0 });
      wrapper.append(el("div", { className: "option" }, input, el("label", { for: oid, text })));
    });
    wrapper.append(problem);
    return wrapper;
  }
  let control;
  if (q.type === "choice") {
    control = el("select", { id, required: !q.optional });
    control.append(el("option", { value: "", text: q.optional ? "(none)" : "Choose…" }));
    for (const o of q.options) control.append(el("option", { value: o, text: o, selected: def === o }));
  } else {
    const attrs = { id, name: id, required: !q.optional, autocomplete: "off" };
    // Money is a text field with a decimal keypad: it takes what the terminal takes ("$10",
    // "1,250.00"), which a number field would refuse; its bounds are in the hint. The server
    // checks it either way (the form is not validated by the browser, so its refusal is shown).
    if (q.type === "currency") Object.assign(attrs, { type: "text", inputmode: "decimal", "data-min": q.min, "data-max": q.max });
    else if (q.type === "number") Object.assign(attrs, { type: "number", inputmode: "decimal", step: "any", min: q.min, max: q.max });
    else if (q.type === "date") attrs.type = "date";
    else if (q.type === "email") Object.assign(attrs, { type: "email", autocomplete: "email" });
    else if (q.type === "password") Object.assign(attrs, { type: "password", autocomplete: "new-password" });
    else Object.assign(attrs, { type: "text" });
    control = el("input", attrs);
    if (def !== null && def !== undefined && q.type !== "password") control.value = String(def);
  }
  control.setAttribute("aria-describedby", describedBy);
  if (invalid) control.setAttribute("aria-invalid", "true");
  wrapper.append(el("label", { for: id }, ...labelText), control, hint, problem);
  return wrapper;
}

function answerOf(wrapper) {
  const type = wrapper.dataset.type;
  if (type === "choices") return [...wrapper.querySelectorAll("input:checked")].map((i) => i.value);
  if (type === "yesno") {
    const c = wrapper.querySelector("input:checked");
    return c ? c.value === "true" : null;
  }
  if (wrapper.tagName === "FIELDSET") {
    const c = wrapper.querySelector("input:checked");
    return c ? c.value : null;
  }
  const control = wrapper.querySelector("input, select");
  return control.value === "" ? null : control.value;
}

/// The answers just refused put back into their fields (never a password: it is typed again).
function refill(controls, answers) {
  for (const w of controls) {
    const value = answers[w.dataset.name];
    if (value === null || value === undefined || w.dataset.type === "password") continue;
    if (w.tagName === "FIELDSET") {
      for (const input of w.querySelectorAll("input")) {
        input.checked = Array.isArray(value) ? value.includes(input.value) : String(value) === input.value;
      }
    } else {
      w.querySelector("input, select").value = String(value);
    }
  }
}

function showPage(page, restored) {
  const heading = el("h2", { tabindex: "-1", id: "page-heading", text: page.title || page.name });
  const form = el("form", { novalidate: true, "aria-labelledby": "page-heading", id: "page-form" });
  form.dataset.page = page.name;
  const controls = page.questions.map(questionControl);
  form.append(...controls);
  const actions = el("div", { className: "actions" }, el("button", { type: "submit", id: "continue", text: "Continue" }));
  if (page.canGoBack) {
    const back = el("button", { type: "button", className: "secondary", id: "back", text: "Back" });
    back.addEventListener("click", () => step({ back: true }));
    actions.append(back);
  } else if (page.backStoppedBy) {
    actions.append(el("p", { className: "note", id: "back-stopped", text: "You cannot go back past " + page.backStoppedBy + "." }));
  }
  form.append(actions);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const answers = {};
    for (const w of controls) answers[w.dataset.name] = answerOf(w);
    lastAnswers = { page: page.name, answers };
    step({ answers });
  });
  $("step").replaceChildren(heading, form);
  const problems = page.questions.filter((q) => q.problem);
  if (problems.length && lastAnswers && lastAnswers.page === page.name) refill(controls, lastAnswers.answers);
  lastAnswers = null;
  if (problems.length) {
    announce(problems.map((q) => (q.prompt || q.name) + ": " + q.problem).join(" "), { quiet: true });
    const first = form.querySelector("[aria-invalid=true] input, input[aria-invalid=true], select[aria-invalid=true]");
    (first || heading).focus();
  } else {
    if (!restored) $("announce").textContent = "";
    heading.focus();
  }
}

async function showExtension(s) {
  const ext = s.extension;
  const heading = el("h2", { tabindex: "-1", id: "extension-heading", text: ext.name });
  const area = el("div", { className: "extension", id: "extension-area" });
  $("step").replaceChildren(heading, area);
  heading.focus();
  const version = s.version;
  let outcome;
  try {
    let module;
    try {
      module = await import("/v1/flows/" + encodeURIComponent(s.flow) + "/extensions/" + encodeURIComponent(ext.name) + ".js");
    } catch {
      throw new Error("the extension " + ext.name + " cannot run in this browser (it has no web module)");
    }
    const outputs = await module.run(ext.arguments, { element: area, flow: s.flow, announce });
    outcome = { extension: { outputs } };
  } catch (error) {
    const message = (error && error.message) ? String(error.message) : "the extension failed";
    outcome = { extension: { error: { message } } };
  }
  if (current && current.version === version) step(outcome);
}

function showOutcome(outcome) {
  sessionStorage.removeItem(storageKey(flowName));
  const heading = el("h2", { tabindex: "-1", id: "outcome-heading", text: outcome.outcome === "success" ? "Done" : "Not completed" });
  const p = el("p", { className: "outcome " + outcome.outcome, id: "outcome", text: outcome.reason || outcome.outcome });
  const again = el("button", { type: "button", className: "secondary", id: "again", text: "Start again" });
  again.addEventListener("click", () => { location.reload(); });
  $("step").replaceChildren(heading, p, el("div", { className: "actions" }, again));
  heading.focus();
}

start().catch(() => announce("The server could not be reached. Reload the page to try again."));
