"""How Slack's requests reach the Bolt app: over HTTP, or over a Socket Mode websocket.

HTTP: Events API, slash commands and interactivity share one URL on the desk's aiohttp
server. Every request's signature is checked first, with slack_sdk's verifier, before
anything reads the body: a forged, unsigned or replayed request (a timestamp more than
five minutes off) is answered 401 and creates nothing. Bolt checks again, but only after
it has parsed the body — and an unsigned body Bolt cannot parse (`"user": 12345`) raised
before its check, as a 500 with a traceback. A signed body that still cannot be read is
answered 400 with one log line.

Socket Mode: the app opens the websocket itself — no public URL, handy behind a firewall.
Slack's envelopes are acknowledged on the socket when the listener has returned.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier

from bot.app.http import HttpServer

log = logging.getLogger("dutydesk.slack")

TIMESTAMP_HEADER = "X-Slack-Request-Timestamp"
SIGNATURE_HEADER = "X-Slack-Signature"


def signed(verifier: SignatureVerifier, request: web.Request, body: str) -> bool:
    timestamp = request.headers.get(TIMESTAMP_HEADER, "")
    signature = request.headers.get(SIGNATURE_HEADER, "")
    # The verifier reads the timestamp with int(): anything but digits would raise.
    return timestamp.isdigit() and bool(signature) and verifier.is_valid(body, timestamp, signature)


def events_endpoint(
    app: AsyncApp, running: Callable[[], bool], signing_secret: str,
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The route Slack POSTs to. While the channel is stopped it answers 503: Slack keeps
    the event and retries, instead of it reaching a desk that is shutting down."""
    verifier = SignatureVerifier(signing_secret)

    async def handle(request: web.Request) -> web.Response:
        if not running():
            return web.Response(status=503)
        try:
            body = (await request.read()).decode("utf-8")  # what Slack sends, and what it signs
        except UnicodeDecodeError:
            log.info("refused a request to the Slack endpoint that is not UTF-8 (from %s)", request.remote)
            return web.Response(status=400)
        if not signed(verifier, request, body):
            log.info("refused a Slack request without a valid signature (from %s)", request.remote)
            return web.Response(status=401)
        try:
            bolt_request = AsyncBoltRequest(
                body=body, query=request.query_string,
                headers=request.headers,  # type: ignore[arg-type]
            )
        except Exception as exc:  # signed, yet not a request Bolt can read
            log.warning("refused a signed Slack request that cannot be read (%s: %s)", type(exc).__name__, exc)
            return web.Response(status=400)
        return await to_aiohttp_response(await app.async_dispatch(bolt_request))

    return handle


def serve_http(http: HttpServer, path: str, app: AsyncApp, running: Callable[[], bool], signing_secret: str) -> None:
    http.add_post(path, events_endpoint(app, running, signing_secret))


async def open_socket(app: AsyncApp, app_token: str) -> AsyncSocketModeHandler:
    """Connected when this returns; the handler reconnects by itself when Slack asks."""
    handler = AsyncSocketModeHandler(app, app_token)
    await handler.connect_async()  # type: ignore[no-untyped-call]
    return handler
