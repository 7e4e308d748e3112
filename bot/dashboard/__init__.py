"""The lead's dashboard: the desk at a glance in a browser, at `/desk/` on the HTTP server.

Server-rendered pages (aiohttp handlers, Jinja2 templates, SVG charts drawn by pygal) with a
few lines of JavaScript that refresh the queue and tick its countdowns. People log in with a
one-time link the bot sends them (the `dashboard` command; `tokens.py`), which opens a
session (`auth.py`). Every change a page makes goes through the same command layer as chat
(`actions.py`), so it is checked, committed and audited the same way. Reads go through the
desk's `Store`. `site.mount` adds it all to the HTTP server.

(This module imports nothing, so the command layer can use `tokens` without the pages.)
"""
