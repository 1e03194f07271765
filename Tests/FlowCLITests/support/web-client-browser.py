#!/usr/bin/env python3
"""The web client of `flow serve` in a real browser (WebClientBrowserTests.swift).

Usage: web-client-browser.py SCENARIO --flow BINARY --root PACKAGE --work DIR [--docs DIR]
  SCENARIO: headers | payment | examples
Run with a python that has selenium and localstripe (the test's venv). Drives Debian's chromium
through chromium-driver, headless. Prints what it checked; exits 1 at the first check that fails.

Every request the browser sends to flow serve goes through a recording proxy of this script (the
bytes are kept in WORK/received.bin), flow serve's standard error is kept in WORK/serve.log and its
store in WORK/sessions.db: the payment scenario searches all three for the card numbers and the CVC.
"""

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

PUBLISHABLE_KEY = "pk_test_flowEndToEnd51HqLyjWDarjtT1zdp7dc"
SECRET_KEY = "sk_test_flowEndToEnd4eC39HqLyjWDarjtT1zdp7dc"
CARD = "4242424242424242"
DECLINED_CARD = "4000000000000341"
CVC = "913"


def check(condition, what):
    if condition:
        print("ok: " + what, flush=True)
    else:
        print("FAILED: " + what, flush=True)
        raise SystemExit(1)


# --- the recording proxy ------------------------------------------------------------------------

class Proxy:
    """Forwards 127.0.0.1:port to the current target, keeping every byte a client sent."""

    def __init__(self, log_path):
        self.target = None
        self.log = open(log_path, "ab")
        self.lock = threading.Lock()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(client,), daemon=True).start()

    def serve(self, client):
        try:
            upstream = socket.create_connection(("127.0.0.1", self.target), timeout=60)
        except OSError:
            client.close()
            return

        def pipe(src, dst, record):
            try:
                while True:
                    data = src.recv(65536)
                    if not data:
                        break
                    if record:
                        with self.lock:
                            self.log.write(data)
                            self.log.flush()
                    dst.sendall(data)
            except OSError:
                pass
            finally:
                for s in (src, dst):
                    try:
                        s.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass

        threading.Thread(target=pipe, args=(upstream, client, False), daemon=True).start()
        pipe(client, upstream, True)


# --- processes ----------------------------------------------------------------------------------

class Serve:
    def __init__(self, args, work, files, defines=(), stubs=None, store="sessions.db", secrets=None, today=None):
        self.args, self.work = args, work
        # A plan's `today`: the server runs on that day, under Debian's faketime. It is stopped
        # by signalling flow serve itself (faketime's child), so that faketime exits by itself
        # and removes its semaphore and shared memory.
        self.env = dict(os.environ)
        self.wrapped = bool(today)
        prefix = ["faketime", "-f", "@%s 12:00:00" % today] if today else []
        self.command = prefix + [args.flow, "serve", *files, "--listen", "127.0.0.1:0", "--store", "sqlite:" + os.path.join(work, store)]
        for d in defines:
            self.command += ["--define", d]
        if stubs is not None:
            path = os.path.join(work, "stubs-%d.json" % time.monotonic_ns())
            with open(path, "w") as f:
                json.dump(stubs, f)
            self.command += ["--stubs", path]
        if secrets:
            self.command += ["--secrets", secrets]
        self.log_path = os.path.join(work, "serve.log")
        self.process = None
        self.start()

    def start(self):
        log = open(self.log_path, "ab")
        mark = os.path.getsize(self.log_path)
        self.process = subprocess.Popen(self.command, cwd=self.args.root, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=self.env)
        until = time.time() + 30
        while time.time() < until:
            with open(self.log_path, "rb") as f:
                f.seek(mark)
                m = re.search(rb"listening on http://127\.0\.0\.1:(\d+)", f.read())
            if m:
                self.port = int(m.group(1))
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        with open(self.log_path, "rb") as f:
            print(f.read().decode(errors="replace"))
        check(False, "flow serve started (%s)" % " ".join(self.command))

    def server_pid(self):
        if not self.wrapped:
            return self.process.pid
        try:
            with open("/proc/%d/task/%d/children" % (self.process.pid, self.process.pid)) as f:
                children = f.read().split()
            return int(children[0]) if children else None
        except OSError:
            return None

    def stop(self):
        if self.process and self.process.poll() is None:
            pid = self.server_pid()
            if pid is not None:
                os.kill(pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                pid = self.server_pid()
                if pid is not None:
                    os.kill(pid, signal.SIGKILL)
                self.process.kill()
                self.process.wait()
        return self.process.returncode


class LocalStripe:
    def __init__(self, root):
        script = os.path.join(root, "Tests/FlowCLITests/support/localstripe-server.py")
        self.process = subprocess.Popen([sys.executable, script], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL)
        line = self.process.stdout.readline().decode()
        check(line.startswith("port "), "localstripe started")
        self.port = int(line.split()[1])
        self.base = "http://127.0.0.1:%d" % self.port

    def charges(self):
        request = urllib.request.Request(self.base + "/v1/charges?limit=100", headers={"Authorization": "Bearer " + SECRET_KEY})
        with urllib.request.urlopen(request, timeout=30) as r:
            return json.load(r)["data"]

    def hold(self, seconds):
        """Charges made from now on keep their response for `seconds`; 0 releases those held."""
        data = urllib.parse.urlencode({"seconds": str(seconds)}).encode()
        with urllib.request.urlopen(urllib.request.Request(self.base + "/_test/hold_charges", data=data,
                                                           headers={"Authorization": "Bearer " + SECRET_KEY}), timeout=30) as r:
            check(r.status == 200, "localstripe holds charges for %s s" % seconds)

    def stop(self):
        self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def browser(width=1280, height=900):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=%d,%d" % (width, height),
              "--disable-extensions", "--no-first-run", "--password-store=basic", "--hide-scrollbars", "--force-device-scale-factor=1"):
        options.add_argument(a)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(30)
    return driver


def wait(driver, what, condition, timeout=30):
    until = time.time() + timeout
    last = None
    while time.time() < until:
        try:
            value = condition(driver)
            if value:
                return value
        except Exception as e:  # an element not there yet, or replaced meanwhile
            last = e
        time.sleep(0.05)
    try:
        print("page text:", driver.find_element("tag name", "body").text)
        for entry in driver.get_log("browser"):
            print("console:", entry)
    except Exception:
        pass
    check(False, "%s (waited %d s; %s)" % (what, timeout, last))


def by_id(driver, id):
    return driver.find_element("id", id)


def step_status(driver):
    s = by_id(driver, "step")
    return s.get_attribute("data-status"), int(s.get_attribute("data-version") or "0")


def wait_step(driver, after_version, what):
    return wait(driver, what, lambda d: step_status(d)[1] > after_version and step_status(d))


def conversation(driver):
    return [li.text for li in driver.find_elements("css selector", "#conversation li")]


def active_id(driver):
    return driver.execute_script("return document.activeElement && document.activeElement.id")


# --- scenario: headers --------------------------------------------------------------------------

def fetch(url, headers=None):
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return r.status, dict((k.lower(), v) for k, v in r.getheaders()), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict((k.lower(), v) for k, v in e.headers.items()), e.read()


def scenario_headers(args):
    stripe_origin = "http://127.0.0.1:8420"
    serve = Serve(args, args.work, ["flows/payment.flow"], defines=["STRIPE_BASE=" + stripe_origin + "/", "STRIPE_PUBLISHABLE_KEY=" + PUBLISHABLE_KEY])
    base = "http://127.0.0.1:%d" % serve.port
    try:
        status, h, body = fetch(base + "/?flow=Payment")
        check(status == 200 and h.get("content-type") == "text/html; charset=utf-8", "/ is the page, text/html")
        csp = h.get("content-security-policy", "")
        print("  CSP:", csp)
        check("script-src 'self';" in csp and "default-src 'none'" in csp and "unsafe-inline" not in csp, "CSP: scripts from this server only, nothing inline")
        check(re.search(r"connect-src 'self' http://127\.0\.0\.1:8420(;| )", csp) is not None, "CSP connect-src: this server and STRIPE_BASE's origin")
        check("frame-ancestors 'none'" in csp and "form-action 'none'" in csp, "CSP: no framing, no form posts")
        check(h.get("x-content-type-options") == "nosniff", "nosniff on the page")
        check(h.get("cache-control") == "no-cache" and h.get("etag"), "the page is revalidated (no-cache, ETag)")
        check(b"<script>" not in body and b"onclick" not in body, "no inline script in the page")
        status, _, _ = fetch(base + "/", {"If-None-Match": h["etag"]})
        check(status == 304, "the page unchanged is 304")
        assets = re.findall(rb'(?:src|href)="(/web/[^"]+)"', body)
        check(len(assets) == 2, "the page names its script and style sheet")
        for a in assets:
            status, ah, _ = fetch(base + a.decode())
            kind = "text/javascript; charset=utf-8" if a.endswith(b".js") else "text/css; charset=utf-8"
            check(status == 200 and ah.get("content-type") == kind, "%s served as %s" % (a.decode(), kind))
            check(ah.get("cache-control") == "public, max-age=31536000, immutable" and ah.get("x-content-type-options") == "nosniff",
                  "%s immutable (its path holds the version), nosniff" % a.decode())
        status, _, _ = fetch(base + "/web/0000/app.js")
        check(status == 404, "an asset of another version is 404")
        status, h, body = fetch(base + "/v1/flows/Payment/extensions/Tokenize.js")
        check(status == 200 and h.get("content-type") == "text/javascript; charset=utf-8" and b"export function run" in body,
              "Tokenize's web module served as JavaScript")
        for bad in ("/v1/flows/Payment/extensions/StripeCharge.js", "/v1/flows/Payment/extensions/..%2F..%2FPackage.js",
                    "/v1/flows/Nope/extensions/Tokenize.js", "/v1/flows/Payment/extensions/../../../../etc/passwd.js"):
            status, _, body = fetch(base + bad)
            check(status == 404 and b"passwd" not in body and b"Package" not in body, "%s is 404" % bad)
        status, h, _ = fetch(base + "/v1/health")
        check(status == 200 and h.get("cache-control") == "no-store", "the API stays no-store")
    finally:
        serve.stop()
    # Web modules that cannot be served. A path that leaves the flow file's folder by its text
    # ('..') is an error of the check (check.extensionWebOutsideFolder): flow serve refuses the flow.
    os.makedirs(os.path.join(args.work, "flows"), exist_ok=True)
    with open(os.path.join(args.work, "outside.js"), "w") as f:
        f.write("export function run() { return Promise.resolve({token: 'secret-outside'}); }\n")
    with open(os.path.join(args.work, "flows", "out.flow"), "w") as f:
        f.write('extension Out {\n  run "x"\n  web "../outside.js"\n  output token: text\n}\n'
                'flow Out {\n  extension Out -> a\n  finish success "{a}"\n}\n')
    refused = subprocess.run([args.flow, "serve", os.path.join(args.work, "flows", "out.flow"), "--listen", "127.0.0.1:0",
                              "--store", "sqlite:" + os.path.join(args.work, "out.db")],
                             cwd=args.root, stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    check(refused.returncode == 65 and b"error[check.extensionWebOutsideFolder]" in refused.stderr,
          "a web module outside the folder by its path: flow serve refuses the flow (exit %d)" % refused.returncode)
    # Outside through a symbolic link (the text stays inside; the server resolves links), or
    # missing (a warning of the check): the flow is served, the module is not.
    os.symlink(os.path.join(args.work, "outside.js"), os.path.join(args.work, "flows", "link.js"))
    with open(os.path.join(args.work, "flows", "bad.flow"), "w") as f:
        f.write('extension Out {\n  run "x"\n  web "link.js"\n  output token: text\n}\n'
                'extension Gone {\n  run "x"\n  web "gone.js"\n  output token: text\n}\n'
                'flow Bad {\n  extension Out -> a\n  extension Gone -> b\n  finish success "{a} {b}"\n}\n')
    serve = Serve(args, args.work, [os.path.join(args.work, "flows", "bad.flow")], store="bad.db")
    base = "http://127.0.0.1:%d" % serve.port
    try:
        for name in ("Out", "Gone"):
            status, _, body = fetch(base + "/v1/flows/Bad/extensions/%s.js" % name)
            check(status == 404 and b"secret-outside" not in body, "the module of %s is not served (404)" % name)
    finally:
        serve.stop()
    log = open(serve.log_path).read()
    check("the web module link.js of extension 'Out' is missing or outside the folder" in log
          and "the web module gone.js of extension 'Gone' is missing" in log, "the log says which web modules cannot be served")


# --- scenario: payment --------------------------------------------------------------------------

def type_amount(driver, amount, keyboard=False):
    field = by_id(driver, "q-0")
    field.clear()
    field.send_keys(amount)
    if not keyboard:
        by_id(driver, "continue").click()


def type_card(driver, number, expiry="12/34", cvc=CVC):
    wait(driver, "the Tokenize card form", lambda d: by_id(d, "card-number").is_displayed())
    by_id(driver, "card-number").send_keys(number)
    by_id(driver, "card-expiry").send_keys(expiry)
    by_id(driver, "card-cvc").send_keys(cvc)
    by_id(driver, "card-submit").click()


def scenario_payment(args):
    from selenium.webdriver.common.keys import Keys
    work = args.work
    stripe = LocalStripe(args.root)
    secrets = os.path.join(work, "secrets.env")
    with open(secrets, "w") as f:
        f.write("STRIPE_SECRET_KEY=%s\n" % SECRET_KEY)
    # A flow whose response repeats what was typed: text is text.
    with open(os.path.join(work, "echo.flow"), "w") as f:
        f.write('flow Echo {\n  question Name: text {\n    prompt "Your name?"\n  }\n'
                '  response "Hello {Name.Name}"\n  finish success "said hello"\n}\n')
    serve = Serve(args, work, ["flows/payment.flow", os.path.join(work, "echo.flow")], secrets=secrets,
                  defines=["STRIPE_BASE=" + stripe.base, "STRIPE_PUBLISHABLE_KEY=" + PUBLISHABLE_KEY])
    proxy = Proxy(os.path.join(work, "received.bin"))
    proxy.target = serve.port
    site = "http://127.0.0.1:%d" % proxy.port
    driver = browser()
    try:
        # 1. A refused amount, then 4.00, the card typed into Tokenize: paid.
        driver.get(site + "/?flow=Payment")
        wait(driver, "the amount page", lambda d: d.find_element("css selector", "label[for=q-0]").text.startswith("How much"))
        check(active_id(driver) == "page-heading", "focus on the new page's heading")
        field = by_id(driver, "q-0")
        check(field.get_attribute("type") == "text" and field.get_attribute("inputmode") == "decimal"
              and by_id(driver, "q-0-hint").text == "An amount, like 4.00, from 0.5 to 10000", "the currency question: a decimal keypad, its bounds in the hint")
        check(driver.find_element("css selector", "label[for=q-0]").text == "How much would you like to pay today, in US dollars?", "the question labels its field")
        _, version = step_status(driver)
        type_amount(driver, "20000")
        wait_step(driver, version, "the refusal")
        problem = by_id(driver, "q-0-problem").text
        check(problem != "" and field_invalid(driver), "the refusal shown next to the amount: %r" % problem)
        wait(driver, "the refusal announced", lambda d: problem in by_id(d, "announce").text)
        check(by_id(driver, "announce").get_attribute("aria-live") == "assertive", "the announcement region is aria-live")
        check(active_id(driver) == "q-0", "focus on the refused field")
        check(by_id(driver, "q-0").get_attribute("value") == "20000", "the refused amount is kept in its field")
        fits(driver, 360)
        screenshot(driver, args, "web-payment-refused-390.png", 390, 844)
        screenshot(driver, args, "web-payment-refused-1280.png", 1280, 900)
        driver.set_window_size(1280, 900)
        # Reload mid-flow: the same session, the refusal still shown.
        session_id = driver.execute_script("return sessionStorage.getItem('flow.session.Payment')")
        check(bool(session_id), "the session id is kept in sessionStorage")
        driver.refresh()
        wait(driver, "the amount page after a reload", lambda d: by_id(d, "q-0-problem").text == problem)
        check(driver.execute_script("return sessionStorage.getItem('flow.session.Payment')") == session_id, "a reload resumes the same session")
        # A server restart: the session is in the store.
        check(serve.stop() == 0, "flow serve stopped by SIGTERM (exit 0)")
        serve.start()
        proxy.target = serve.port
        driver.refresh()
        wait(driver, "the amount page after a server restart", lambda d: by_id(d, "q-0-problem").text == problem)
        _, version = step_status(driver)
        type_amount(driver, "4.00")
        wait_step(driver, version, "the Tokenize step")
        check(conversation(driver) == [], "no response yet")
        wait(driver, "the card form", lambda d: by_id(d, "card-number"))
        labels = {l.get_attribute("for"): l.text for l in driver.find_elements("css selector", "#extension-area label")}
        check(labels.get("card-number") == "Card number" and "card-expiry" in labels and "card-cvc" in labels, "the card fields are labelled")
        check(by_id(driver, "card-number").get_attribute("autocomplete") == "cc-number" and by_id(driver, "card-cvc").get_attribute("autocomplete") == "cc-csc",
              "autocomplete cc-number, cc-csc")
        check(by_id(driver, "card-number").get_dom_attribute("name") is None, "the card fields have no name (never posted)")
        # Reload at the extension: the form comes back.
        driver.refresh()
        wait(driver, "the card form after a reload", lambda d: by_id(d, "card-number"))
        screenshot(driver, args, "web-payment-1280.png", 1280, 900)
        screenshot(driver, args, "web-payment-390.png", 390, 844)
        driver.set_window_size(1280, 900)
        _, version = step_status(driver)
        type_card(driver, "4242 4242 4242 4242")
        wait(driver, "the outcome", lambda d: step_status(d)[0] == "finished")
        said = conversation(driver)
        check(len(said) == 1 and said[0].startswith("You paid 4.00. Your charge reference is ch_"), "the paid response: %r" % said)
        check(by_id(driver, "outcome").get_attribute("class") == "outcome success", "the outcome: success")
        check(active_id(driver) == "outcome-heading", "focus on the outcome's heading")
        charges = stripe.charges()
        check(len(charges) == 1 and charges[0]["amount"] == 400 and charges[0]["status"] == "succeeded", "one charge of 400 cents in localstripe")
        check(said[0].endswith(charges[0]["id"] + "."), "the response names localstripe's charge")

        # 2. The declined card takes the decline path.
        by_id(driver, "again").click()
        wait(driver, "a new session", lambda d: step_status(d)[0] == "page" and conversation(d) == [])
        _, version = step_status(driver)
        type_amount(driver, "5.00")
        wait_step(driver, version, "the Tokenize step")
        type_card(driver, DECLINED_CARD)
        wait(driver, "the outcome of the declined card", lambda d: step_status(d)[0] == "finished")
        said = conversation(driver)
        check(len(said) == 1 and said[0].startswith("Your card was declined:"), "the decline response: %r" % said)
        check(by_id(driver, "outcome").get_attribute("class") == "outcome failure", "the outcome: failure")
        charges = [c for c in stripe.charges() if c["status"] == "succeeded"]
        check(len(charges) == 1, "still one successful charge")

        # 3. Keyboard only: Tab, typing and Enter.
        by_id(driver, "again").send_keys(Keys.ENTER)
        wait(driver, "a new session", lambda d: step_status(d)[0] == "page" and conversation(d) == [] and active_id(d) == "page-heading")
        _, version = step_status(driver)
        keys = driver.switch_to.active_element
        keys.send_keys(Keys.TAB)
        check(active_id(driver) == "q-0", "Tab from the heading reaches the amount")
        driver.switch_to.active_element.send_keys("7.25" + Keys.ENTER)
        wait_step(driver, version, "the Tokenize step")
        wait(driver, "focus in the card number", lambda d: active_id(d) == "card-number")
        driver.switch_to.active_element.send_keys("4242424242424242" + Keys.TAB)
        driver.switch_to.active_element.send_keys("1234" + Keys.TAB)
        check(active_id(driver) == "card-cvc", "Tab moves through the card form")
        driver.switch_to.active_element.send_keys(CVC + Keys.ENTER)
        wait(driver, "the outcome", lambda d: step_status(d)[0] == "finished")
        check(conversation(driver)[0].startswith("You paid 7.25."), "paid with the keyboard only")
        check(active_id(driver) == "outcome-heading", "focus on the outcome's heading")
        charges = [c for c in stripe.charges() if c["status"] == "succeeded"]
        check(sorted(c["amount"] for c in charges) == [400, 725], "two successful charges: 400 and 725 cents")

        # 3b. A reload while the charge is held at the gateway: "Working…", no form and nothing to
        # send; the session is read again until the charge answers, then the payment; one charge.
        driver.get(site + "/?flow=Payment")
        wait(driver, "a new session", lambda d: step_status(d)[0] == "page")
        _, version = step_status(driver)
        type_amount(driver, "6.50")
        wait_step(driver, version, "the Tokenize step")
        stripe.hold(60)
        type_card(driver, CARD)
        wait(driver, "the charge made at localstripe", lambda d: any(c["amount"] == 650 for c in stripe.charges()))
        driver.refresh()
        wait(driver, "Working… after a reload during the charge", lambda d: step_status(d)[0] == "working")
        check(by_id(driver, "working-heading").text == "Working…" and active_id(driver) == "working-heading", "Working… shown, and focused")
        check(driver.find_elements("css selector", "#step form, #step input, #step button, #card-number") == [],
              "no form, no card field, nothing to submit while working")
        check(by_id(driver, "step").get_attribute("aria-busy") == "true", "the step is aria-busy")
        fits(driver, 360)
        driver.set_window_size(1280, 900)
        wait(driver, "the session read again while working", lambda d: int(by_id(d, "step").get_attribute("data-reads") or "0") >= 2)
        check(step_status(driver)[0] == "working", "still working while the charge is held")
        check(len([c for c in stripe.charges() if c["amount"] == 650]) == 1, "one charge of 650 cents while working")
        stripe.hold(0)
        wait(driver, "the payment once the charge answered", lambda d: step_status(d)[0] == "finished")
        check(conversation(driver)[0].startswith("You paid 6.50. Your charge reference is ch_"), "the paid response after Working…: %r" % conversation(driver))
        check(by_id(driver, "step").get_attribute("aria-busy") is None, "no longer aria-busy")
        charges = [c for c in stripe.charges() if c["status"] == "succeeded"]
        check(sorted(c["amount"] for c in charges) == [400, 650, 725], "one charge each: 400, 650 and 725 cents")

        # 4. A stale version (another tab answered first): 409 shows where the session stands.
        driver.get(site + "/?flow=Payment")
        wait(driver, "the amount page", lambda d: step_status(d)[0] == "page")
        sid = driver.execute_script("return sessionStorage.getItem('flow.session.Payment')")
        _, version = step_status(driver)
        body = json.dumps({"version": version, "answers": {"Embedded Payment": "9.00"}}).encode()
        request = urllib.request.Request(site + "/v1/sessions/" + sid + "/steps", data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as r:
            check(json.load(r)["status"] == "extension", "another client answered the page")
        type_amount(driver, "8.00")
        wait(driver, "the conflict announced", lambda d: "already been answered" in by_id(d, "announce").text)
        wait(driver, "the current step shown", lambda d: by_id(d, "card-number"))
        # Cancel the card form: the extension's error takes the flow's on error.
        _, version = step_status(driver)
        by_id(driver, "card-cancel").click()
        wait(driver, "the outcome after cancelling", lambda d: step_status(d)[0] == "finished")
        check(conversation(driver)[0] == "Sorry, we could not read your card details: the card details were not given",
              "the extension's error reaches the flow: %r" % conversation(driver))

        # 5. Text is text.
        driver.get(site + "/?flow=Echo")
        wait(driver, "the Echo page", lambda d: step_status(d)[0] == "page")
        evil = "<script>window.pwned=1</script><img src=x onerror=\"window.pwned=2\"><b>bold</b>"
        by_id(driver, "q-0").send_keys(evil)
        by_id(driver, "continue").click()
        wait(driver, "the echo", lambda d: step_status(d)[0] == "finished")
        check(conversation(driver) == ["Hello " + evil], "the response shows the characters typed: %r" % conversation(driver))
        check(driver.execute_script("return window.pwned === undefined && document.querySelectorAll('#conversation script, #conversation img, #conversation b').length === 0"),
              "no markup made from the answer, no script run")
    finally:
        driver.quit()
        serve.stop()
        stripe.stop()

    # 6. The card never reached flow serve: not in what it received, stored or logged.
    places = {"received": os.path.join(work, "received.bin"), "log": serve.log_path}
    for name in os.listdir(work):
        if name.startswith("sessions.db"):
            places["store " + name] = os.path.join(work, name)
    received = open(places["received"], "rb").read()
    check(b"POST /v1/sessions" in received and b"\"extension\"" in received, "the proxy saw the client's requests (%d bytes)" % len(received))
    # The search can find what it looks for: the amounts typed and the token the client posted are there.
    check(b'"7.25"' in received and re.search(rb'"token":"pm_[0-9A-Za-z_]+"', received) is not None,
          "the proxy log holds the answers and the pm_ token the client sent")
    for what, path in places.items():
        data = open(path, "rb").read()
        for card in (CARD, DECLINED_CARD):
            for form in (card, " ".join(card[i:i + 4] for i in range(0, 16, 4)), "+".join(card[i:i + 4] for i in range(0, 16, 4)),
                         "%20".join(card[i:i + 4] for i in range(0, 16, 4)), card[-4:] + "\""):
                check(form.encode() not in data, "%s: no card number %s (as %r)" % (what, card[-4:], form))
        check(re.search(rb"(?<![0-9A-Za-z_-])" + CVC.encode() + rb"(?![0-9A-Za-z_-])", data) is None, "%s: no CVC" % what)
        # `cvc` as a name of its own (`card[cvc]`, `"cvc":`, `cvc=`), not inside a run of letters
        # and digits: localstripe's random ids (`ch_5bVW0VyycvC943`), kept in the store's
        # responses, held it once by chance.
        check(re.search(rb"(?<![0-9a-z_])cvc(?![0-9a-z_])", data.lower()) is None and b"card[" not in data
              and b"card%5b" not in data.lower(), "%s: no card field" % what)


def field_invalid(driver):
    return by_id(driver, "q-0").get_attribute("aria-invalid") == "true"


def fits(driver, width):
    driver.set_window_size(width, 800)
    time.sleep(0.3)
    inner = driver.execute_script("return window.innerWidth")
    if inner != width:
        driver.set_window_size(width + (width - inner), 800)
        time.sleep(0.3)
    check(not driver.execute_script("return document.documentElement.scrollWidth > window.innerWidth"), "nothing wider than the window at %d px" % width)


CONTROLS = {"text": "input[type=text]", "currency": "input[type=text][inputmode=decimal]", "number": "input[type=number]",
            "yesno": "input[type=radio][value=true]", "choices": "input[type=checkbox]",
            "date": "input[type=date]", "email": "input[type=email]", "password": "input[type=password]"}
SEEN_TYPES = set()


def check_controls(driver, form):
    """Each question its control, every control labelled."""
    for w in form.find_elements("css selector", ".question"):
        kind = w.get_attribute("data-type")
        selector = CONTROLS.get(kind, "input[type=radio], select")
        check(len(w.find_elements("css selector", selector)) > 0, "a %s question has its control (%s)" % (kind, selector))
        if kind not in SEEN_TYPES:
            SEEN_TYPES.add(kind)
        for control in w.find_elements("css selector", "input, select"):
            cid = control.get_attribute("id")
            labels = driver.find_elements("css selector", "label[for='%s']" % cid)
            check(len(labels) == 1 and labels[0].text.strip() != "", "the %s control #%s is labelled" % (kind, cid))
        if w.tag_name == "fieldset":
            check(w.find_element("css selector", "legend").text.strip() != "", "the %s group has a legend" % kind)
        optional = w.find_elements("css selector", ".optional")
        required = w.find_elements("css selector", "[required]")
        check(bool(optional) != bool(required) or kind == "choices", "a %s question is marked optional, or required" % kind)


def screenshot(driver, args, name, width, height):
    if not args.docs:
        return
    driver.set_window_size(width, height)
    time.sleep(0.3)
    inner = driver.execute_script("return window.innerWidth")
    if inner != width:
        driver.set_window_size(width + (width - inner), height)
        time.sleep(0.3)
    overflow = driver.execute_script("return document.documentElement.scrollWidth > window.innerWidth")
    check(not overflow, "nothing wider than the window at %d px" % width)
    os.makedirs(args.docs, exist_ok=True)
    path = os.path.join(args.docs, name)
    driver.save_screenshot(path)
    check(os.path.getsize(path) > 1000, "screenshot %s at %d px" % (name, width))


# --- scenario: examples -------------------------------------------------------------------------

def flow_value(text):
    text = text.strip()
    if text.startswith('"') or text.startswith("["):
        return json.loads(text)
    if text in ("true", "false"):
        return text == "true"
    return text  # a number, kept as written


def unescape(text):
    """A flow text literal's escapes (\\{, \\", \\\\) undone."""
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), text)


def read_plan(path):
    """The tests of a .flowtest: answers, stubs (results and failures) and the expected outcome."""
    lines = open(path).read().split("\n")
    tests, test, i = [], None, 0
    today = None
    while i < len(lines):
        line = re.sub(r"^\s+", "", lines[i])
        i += 1
        m = re.match(r'today "([^"]+)"', line)
        if m:
            today = m.group(1)
        m = re.match(r'test "(.*)" \{$', line)
        if m:
            test = {"name": m.group(1), "answers": {}, "stubs": {}, "outcome": None, "responses": []}
            tests.append(test)
            continue
        if test is None:
            continue
        m = re.match(r"(answer|result|failure) (.+?) = (.*)$", line)
        if m:
            kind, name, value = m.groups()
            if value.startswith("{") or value.startswith("["):
                while value.count("{") + value.count("[") > value.count("}") + value.count("]"):
                    value += "\n" + lines[i]
                    i += 1
            if kind == "answer":
                # A list is one answer per time the question is asked.
                v = flow_value(value)
                test["answers"].setdefault(name.replace("`", ""), []).extend(v if isinstance(v, list) else [v])
            else:
                v = json.loads(value)
                for item in (v if isinstance(v, list) else [v]):
                    test["stubs"].setdefault(name, []).append(item if kind == "result" else {"error": item})
            continue
        m = re.match(r'expect outcome (success|failure)(?: "(.*)")?$', line)
        if m:
            test["outcome"] = (m.group(1), unescape(m.group(2)) if m.group(2) is not None else None)
        m = re.match(r'expect response "(.*)"$', line)
        if m:
            test["responses"].append(unescape(m.group(1)))
    return today, tests


def answer_page(driver, answers, used):
    from selenium.webdriver.support.ui import Select
    form = by_id(driver, "page-form")
    page = form.get_attribute("data-page")
    check_controls(driver, form)
    for w in form.find_elements("css selector", ".question"):
        key = page + "." + w.get_attribute("data-name")
        if key not in answers:
            key = w.get_attribute("data-name")
        if key not in answers:
            continue
        k = used.get(key, 0)
        values = answers[key]
        value = values[min(k, len(values) - 1)]
        used[key] = k + 1
        kind = w.get_attribute("data-type")
        if kind == "yesno":
            w.find_element("css selector", "input[value=%s]" % ("true" if value else "false")).click()
        elif kind == "choices":
            for box in w.find_elements("css selector", "input[type=checkbox]"):
                if box.is_selected() != (box.get_attribute("value") in value):
                    box.click()
        elif kind == "choice" and w.tag_name == "fieldset":
            for radio in w.find_elements("css selector", "input[type=radio]"):
                if radio.get_attribute("value") == value:
                    radio.click()
        elif kind == "choice":
            Select(w.find_element("css selector", "select")).select_by_value(value)
        elif kind == "date":
            driver.execute_script("arguments[0].value = arguments[1]", w.find_element("css selector", "input"), value)
        else:
            field = w.find_element("css selector", "input")
            field.clear()
            field.send_keys(str(value))
    return page


STEPS_FLOW = """ip Save(name: text) {
  POST "http://127.0.0.1:9/save"
  form {
    name = name
  }
  unsafe
  output ok: bool = json "ok"
  output id: text = json "id"
}

flow Steps {
  question First: text {
    prompt "First?"
  }
  question Second: text {
    prompt "Second?"
    optional
  }
  ip Save(First.First) -> saved
  question Third: yesno {
    prompt "Third?"
  }
  response "saved {saved.id} {saved.ok}"
  finish success "done"
}
"""


def back_stopped(args, driver):
    """Back, and what stops it: a page after an unsafe call cannot go back past it."""
    path = os.path.join(args.work, "steps.flow")
    with open(path, "w") as f:
        f.write(STEPS_FLOW)
    noweb = os.path.join(args.work, "noweb.flow")
    with open(noweb, "w") as f:
        f.write('extension Pad {\n  run "pad"\n  output code: text\n}\n\nflow No Web {\n  extension Pad -> code\n'
                '  on error {\n    response "no pad: {error.message}"\n    finish failure "no pad"\n  }\n  finish success "{code}"\n}\n')
    serve = Serve(args, args.work, [path, noweb], stubs={"Save": {"ok": True, "id": "S-1"}}, store="steps.db")
    try:
        driver.get("http://127.0.0.1:%d/?flow=Steps" % serve.port)
        wait(driver, "the first page", lambda d: by_id(d, "page-form").get_attribute("data-page") == "First")
        check(not driver.find_elements("id", "back") and not driver.find_elements("id", "back-stopped"), "the first page has no back")
        by_id(driver, "q-0").send_keys("Ann")
        _, version = step_status(driver)
        by_id(driver, "continue").click()
        wait(driver, "the second page", lambda d: by_id(d, "page-form").get_attribute("data-page") == "Second")
        check("(optional)" in driver.find_element("css selector", "label[for=q-0]").text, "an optional question is marked")
        _, version = step_status(driver)
        by_id(driver, "back").click()
        wait(driver, "back on the first page", lambda d: by_id(d, "page-form").get_attribute("data-page") == "First")
        check(active_id(driver) == "page-heading", "focus on the page's heading after back")
        by_id(driver, "q-0").send_keys("Bob")
        by_id(driver, "continue").click()
        wait(driver, "the second page again", lambda d: by_id(d, "page-form").get_attribute("data-page") == "Second")
        by_id(driver, "continue").click()
        wait(driver, "the third page", lambda d: by_id(d, "page-form").get_attribute("data-page") == "Third")
        check(not driver.find_elements("id", "back"), "no back past the unsafe call")
        check("Save" in by_id(driver, "back-stopped").text, "what stops back is said: %r" % by_id(driver, "back-stopped").text)
        driver.find_element("css selector", "input[value=true]").click()
        by_id(driver, "continue").click()
        wait(driver, "the outcome", lambda d: step_status(d)[0] == "finished")
        check(conversation(driver) == ["saved S-1 yes"], "the flow finished after the call: %r" % conversation(driver))
        # An extension without a web module: the flow's on error gets a plain message.
        driver.get("http://127.0.0.1:%d/?flow=No%%20Web" % serve.port)
        wait(driver, "the outcome", lambda d: step_status(d)[0] == "finished")
        check(conversation(driver) == ["no pad: the extension Pad cannot run in this browser (it has no web module)"],
              "an extension without a web module fails into on error: %r" % conversation(driver))
    finally:
        serve.stop()


def scenario_examples(args):
    driver = browser()
    results = []
    went_back = False
    try:
        for plan in sorted(f for f in os.listdir(os.path.join(args.root, "flows")) if f.endswith(".flowtest")):
            flow_file = "flows/" + plan.replace(".flowtest", ".flow")
            source = open(os.path.join(args.root, flow_file)).read()
            flow_name = re.search(r"^flow ([^(){]+?) ?[({]", source, re.M).group(1)
            today, tests = read_plan(os.path.join(args.root, "flows", plan))
            for test in tests:
                if test["outcome"] is None:
                    continue
                stubs = {name: (v[0] if len(v) == 1 else v) for name, v in test["stubs"].items()}
                # Stubs of this plan that the test does not give (extensions canned elsewhere) stay out.
                serve = Serve(args, args.work, [flow_file], stubs=stubs, store="examples-%d.db" % len(results), today=today)
                try:
                    driver.get("http://127.0.0.1:%d/?flow=%s" % (serve.port, urllib.parse.quote(flow_name)))
                    wait(driver, "the first step of %s" % flow_name, lambda d: step_status(d)[0] in ("page", "finished", "extension"))
                    used = {}
                    previous = None
                    for _ in range(40):
                        status, version = step_status(driver)
                        if status != "page":
                            break
                        page = answer_page(driver, test["answers"], used)
                        if not went_back and previous and driver.find_elements("id", "back"):
                            # Back once, in the first example that can: the page before comes again.
                            by_id(driver, "back").click()
                            wait_step(driver, version, "the page before")
                            back_to = by_id(driver, "page-form").get_attribute("data-page")
                            check(back_to == previous, "back from %r returns to %r" % (page, previous))
                            went_back = True
                            used = {}
                            driver.refresh()
                            wait(driver, "the first step again", lambda d: step_status(d)[0] == "page")
                            continue
                        by_id(driver, "continue").click()
                        wait_step(driver, version, "the step after page %r" % page)
                        previous = page
                    status, _ = step_status(driver)
                    outcome = None
                    if status == "finished":
                        cls = by_id(driver, "outcome").get_attribute("class").split()[-1]
                        outcome = (cls, by_id(driver, "outcome").text)
                    expected = test["outcome"]
                    said = conversation(driver)
                    ok = outcome is not None and outcome[0] == expected[0] and (expected[1] is None or outcome[1] == expected[1]) \
                        and all(r in said for r in test["responses"])
                    results.append((plan, test["name"], ok, outcome, expected, said, today))
                    print("%s: %s / %s: reached %r, expected %r%s" % ("ok" if ok else "FAILED", plan, test["name"], outcome, expected,
                                                                     "" if ok else " responses %r, expected %r" % (said, test["responses"])), flush=True)
                finally:
                    serve.stop()
        back_stopped(args, driver)
    finally:
        driver.quit()
    dated = [r for r in results if not r[2] and r[6]]
    print("%d of %d tests of the plans reached their outcome in the browser" % (sum(1 for r in results if r[2]), len(results)))
    print("question types seen: %s" % ", ".join(sorted(SEEN_TYPES)))
    check(SEEN_TYPES >= {"text", "currency", "number", "yesno", "choice", "choices", "date", "email", "password"},
          "the examples ask every type of question")
    check(went_back, "back was used in an example")
    check(all(r[2] for r in results), "every test of every plan reaches its outcome through the browser")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("scenario", choices=["headers", "payment", "examples"])
    parser.add_argument("--flow", required=True)
    parser.add_argument("--root", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--docs")
    args = parser.parse_args()
    os.makedirs(args.work, exist_ok=True)
    {"headers": scenario_headers, "payment": scenario_payment, "examples": scenario_examples}[args.scenario](args)
    print("all checks passed", flush=True)


if __name__ == "__main__":
    main()
