#!/usr/bin/env python3
"""localstripe for the end-to-end payment tests (PaymentEndToEndTests.swift).

Usage: localstripe-server.py  (with the localstripe package importable, e.g. from its venv)

Listens on a free port of 127.0.0.1 and prints `port N` on standard output once it accepts
connections. Exits when standard input ends (the test closed it, or the test process died), so no
server outlives its test; SIGTERM stops it too.

Two differences from running `localstripe` itself:
- The store lives in memory only. localstripe pickles it to /tmp/localstripe.pickle after every
  change (card numbers included) and loads it at start; here every server starts empty and
  writes nothing.
- A publishable key may create payment methods (POST /v1/payment_methods with
  `Authorization: Bearer pk_...`), as with Stripe, where Stripe.js does exactly that.
  localstripe accepts a publishable key only in the form body of /v1/tokens and /v1/sources.
  Every other endpoint still needs a secret key (sk_...).
- Idempotent requests, as Stripe documents them (localstripe ignores the header): a POST with an
  `Idempotency-Key` already seen for the same API key gets the first response again, status and
  body, with `Idempotent-Replayed: true`; with other parameters it gets 400 `idempotency_error`.

- CORS, as Stripe sends it, so that a browser page of another origin (the web client's Tokenize in
  WebClientBrowserTests) may call it: a request with an `Origin` of the loopback
  (`http://127.0.0.1:PORT`, `http://localhost:PORT`) gets `Access-Control-Allow-Origin` with that
  origin, and an `OPTIONS` preflight is answered with 204 and the methods and headers allowed.

And one control for the tests, which Stripe does not have: `POST /_test/hold_charges` with
`seconds=N` makes each later `POST /v1/charges` wait N seconds after the charge is made and before
its response is sent (a gateway slow to answer, so a test can kill the client while the charge is
on the wire); `seconds=0` stops that and releases the responses held.
"""

import asyncio
import socket
import sys
import threading
import os

from aiohttp import web
from localstripe import resources, server

resources.Store.dump_to_disk = lambda self: None
resources.Store.try_load_from_disk = lambda self: None

_get_api_key = server.get_api_key


def get_api_key(request):
    header = request.headers.get("Authorization", "").split(" ")
    if (request.method == "POST" and request.path == "/v1/payment_methods" and len(header) == 2
            and header[0] == "Bearer" and header[1].startswith("pk_") and len(header[1]) > 5):
        return header[1]
    if len(header) == 2 and header[0] not in ("Basic", "Bearer"):
        return None  # localstripe would fail with a 500 here
    return _get_api_key(request)


server.get_api_key = get_api_key

# (API key, Idempotency-Key) -> (request body, status, body, content type)
_idempotent = {}
_hold = {"seconds": 0.0, "release": None}


@web.middleware
async def stripe_idempotency(request, handler):
    if request.method == "POST" and request.path == "/_test/hold_charges":
        form = await request.post()
        seconds = float(form.get("seconds", "0"))
        if _hold["release"] is not None:
            _hold["release"].set()
        _hold["seconds"] = seconds
        _hold["release"] = asyncio.Event() if seconds > 0 else None
        return web.json_response({"hold": seconds})
    key = request.headers.get("Idempotency-Key")
    if request.method != "POST" or not key:
        return await handler(request)
    body = await request.read()
    slot = (request.headers.get("Authorization", ""), key)
    if slot in _idempotent:
        first_body, status, text, content_type = _idempotent[slot]
        if first_body != body:
            return web.json_response({"error": {
                "type": "idempotency_error",
                "message": "Keys for idempotent requests can only be used with the same parameters "
                           "they were first used with."}}, status=400)
        return web.Response(body=text, status=status, content_type=content_type,
                            headers={"Idempotent-Replayed": "true"})
    response = await handler(request)
    _idempotent[slot] = (body, response.status, response.body, response.content_type)
    if request.path == "/v1/charges" and _hold["release"] is not None:
        try:
            await asyncio.wait_for(_hold["release"].wait(), timeout=_hold["seconds"])
        except asyncio.TimeoutError:
            pass
    return response


def _allowed_origin(request):
    origin = request.headers.get("Origin", "")
    for prefix in ("http://127.0.0.1:", "http://localhost:"):
        if origin.startswith(prefix) and origin[len(prefix):].isdigit():
            return origin
    return None


@web.middleware
async def cors(request, handler):
    origin = _allowed_origin(request)
    if request.method == "OPTIONS":
        headers = {"Vary": "Origin"}
        if origin:
            headers.update({
                "Access-Control-Allow-Origin": origin,
                "Access-Control-Allow-Methods": "GET, POST, DELETE, OPTIONS",
                "Access-Control-Allow-Headers": request.headers.get("Access-Control-Request-Headers", "authorization, content-type"),
                "Access-Control-Max-Age": "600",
            })
        return web.Response(status=204, headers=headers)
    try:
        response = await handler(request)
    except web.HTTPException as error:
        response = error
    if origin:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Vary"] = "Origin"
    return response


async def cors_headers(request, response):
    # After localstripe's own hook, which allows only Content-Type and Accept: Stripe.js sends the
    # publishable key in Authorization.
    origin = _allowed_origin(request)
    if origin:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type, Accept, Idempotency-Key, Stripe-Version"
        response.headers["Access-Control-Allow-Methods"] = "GET, POST, DELETE, OPTIONS"
        response.headers["Vary"] = "Origin"


server.app.middlewares.append(stripe_idempotency)
server.app.middlewares.insert(0, cors)
server.app.on_response_prepare.append(cors_headers)


def exit_when_stdin_ends():
    try:
        while sys.stdin.buffer.read(4096):
            pass
    finally:
        os._exit(0)


def main():
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    port = sock.getsockname()[1]

    async def announce(app):
        print("port %d" % port, flush=True)

    server.app.on_startup.append(announce)
    threading.Thread(target=exit_when_stdin_ends, daemon=True).start()
    web.run_app(server.app, sock=sock, access_log=None, print=None)


if __name__ == "__main__":
    main()
