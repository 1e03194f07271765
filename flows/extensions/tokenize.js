// Tokenize for the web client of `flow serve`: the customer types the card into this form, the
// card goes straight to the payment gateway (POST {gateway}/v1/payment_methods with the
// publishable key, as Stripe.js does) and the flow gets only the payment method id (pm_…).
// The card fields have no name and the form no action: nothing of them is ever sent to flow serve.
//
// run(arguments, host): arguments {"publishable key", gateway}; host.element is where to draw.
// Resolves to {token: "pm_…"}, or rejects with an Error whose message the flow's `on error` gets.

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined) continue;
    if (k === "text") e.textContent = v;
    else if (k === "className") e.className = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
}

function field(id, label, attrs, wide) {
  const input = el("input", { id, type: "text", spellcheck: "false", required: "", ...attrs });
  const box = el("div", { className: wide ? "wide" : null }, el("label", { for: id, text: label }), input);
  return { box, input };
}

/// "12/34", "12 / 2034", "1234" → [month, full year], or null.
function expiry(text) {
  const m = text.replace(/\s+/g, "").match(/^(\d{1,2})\/?(\d{2}|\d{4})$/);
  if (!m) return null;
  const month = Number(m[1]);
  if (month < 1 || month > 12) return null;
  const year = m[2].length === 2 ? 2000 + Number(m[2]) : Number(m[2]);
  return [String(month), String(year)];
}

export function run(args, host) {
  const key = args["publishable key"];
  const gateway = String(args.gateway || "").replace(/\/+$/, "");
  return new Promise((resolve, reject) => {
    const number = field("card-number", "Card number", { autocomplete: "cc-number", inputmode: "numeric" }, true);
    const exp = field("card-expiry", "Expiry (MM/YY)", { autocomplete: "cc-exp", inputmode: "numeric", placeholder: "MM/YY" }, false);
    const cvc = field("card-cvc", "Security code (CVC)", { autocomplete: "cc-csc", inputmode: "numeric" }, false);
    const problem = el("p", { className: "ext-error", id: "card-problem", role: "alert" });
    const pay = el("button", { type: "submit", id: "card-submit", text: "Use this card" });
    const cancel = el("button", { type: "button", className: "secondary", id: "card-cancel", text: "Cancel" });
    const form = el("form", { novalidate: "", autocomplete: "on", "aria-describedby": "card-note" },
      el("p", { id: "card-note", className: "note", text: "Your card goes straight to our payment provider; this site never sees it." }),
      el("div", { className: "card-fields" }, number.box, exp.box, cvc.box),
      problem,
      el("div", { className: "actions" }, pay, cancel));
    host.element.replaceChildren(form);
    number.input.focus();

    cancel.addEventListener("click", () => reject(new Error("the card details were not given")));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      problem.textContent = "";
      const digits = number.input.value.replace(/[\s-]/g, "");
      const when = expiry(exp.input.value);
      const code = cvc.input.value.trim();
      const wrong = !/^\d{12,19}$/.test(digits) ? [number.input, "Type the card number (12 to 19 digits)."]
        : !when ? [exp.input, "Type the expiry date as MM/YY."]
        : !/^\d{3,4}$/.test(code) ? [cvc.input, "Type the 3 or 4 digit security code."] : null;
      for (const f of [number.input, exp.input, cvc.input]) f.removeAttribute("aria-invalid");
      if (wrong) {
        wrong[0].setAttribute("aria-invalid", "true");
        problem.textContent = wrong[1];
        wrong[0].focus();
        return;
      }
      pay.disabled = true;
      const body = new URLSearchParams();
      body.set("type", "card");
      body.set("card[number]", digits);
      body.set("card[exp_month]", when[0]);
      body.set("card[exp_year]", when[1]);
      body.set("card[cvc]", code);
      let response, json;
      try {
        response = await fetch(gateway + "/v1/payment_methods", {
          method: "POST",
          headers: { "Authorization": "Bearer " + key, "Content-Type": "application/x-www-form-urlencoded" },
          body,
          credentials: "omit",
          referrerPolicy: "no-referrer",
        });
        json = await response.json();
      } catch {
        reject(new Error("the payment gateway could not be reached"));
        return;
      }
      if (response.ok && json && typeof json.id === "string" && json.id.startsWith("pm_")) {
        number.input.value = "";
        exp.input.value = "";
        cvc.input.value = "";
        resolve({ token: json.id });
        return;
      }
      const message = (json && json.error && json.error.message) || ("the payment gateway answered " + response.status);
      if (response.status === 402 || (json && json.error && json.error.type === "card_error")) {
        // The customer can correct the card and try again.
        problem.textContent = message;
        pay.disabled = false;
        number.input.focus();
        return;
      }
      reject(new Error(message));
    });
  });
}
