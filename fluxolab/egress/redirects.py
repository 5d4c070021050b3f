"""Follow one redirect by hand: the next request, with credentials kept only on the same origin.

The guard follows redirects itself (httpx's own following is off) so that each hop goes
through the same checks as the first request: scheme, destination, the hop count, and the
credential rule. A hop to another origin (scheme, host or port) drops ``Authorization``,
``Cookie``, ``Proxy-Authorization`` and every header the caller named in ``auth_headers``.
"""

from __future__ import annotations

import httpx

from fluxolab.egress.errors import EgressDenied, EgressError

ALLOWED_SCHEMES = ("http", "https")
ALWAYS_SECRET = frozenset({"authorization", "cookie", "proxy-authorization"})
_BODY_HEADERS = ("content-type", "content-length", "transfer-encoding", "content-encoding")


def check_scheme(url: httpx.URL) -> None:
    """Raise EgressDenied unless ``url`` is an absolute http or https URL."""
    if url.scheme not in ALLOWED_SCHEMES:
        shown = url.scheme or "none"
        raise EgressDenied(f"Only http and https URLs are allowed (got {shown})")
    if not url.host:
        raise EgressDenied("The URL has no host")


def origin(url: httpx.URL) -> tuple[str, str, int | None]:
    """Return the origin of ``url``: scheme, host and effective port."""
    port = url.port or {"http": 80, "https": 443}.get(url.scheme)
    return url.scheme, url.host, port


def _method(request: httpx.Request, status: int) -> str:
    """Return the next method: 303 becomes GET, so does a POST answered 301/302 (as browsers)."""
    method = request.method
    if status == 303 and method != "HEAD":
        return "GET"
    if status in (301, 302) and method == "POST":
        return "GET"
    return method


def next_request(
    request: httpx.Request, response: httpx.Response, auth_headers: frozenset[str]
) -> httpx.Request:
    """Return the request a redirect response points to; raises EgressDenied/EgressError."""
    location = response.headers.get("location", "")
    try:
        url = request.url.join(location)
    except httpx.InvalidURL as exc:
        raise EgressError(f"Redirect to an invalid URL: {location[:200]}") from exc
    check_scheme(url)
    method = _method(request, response.status_code)
    headers = httpx.Headers(request.headers)
    if "host" in headers:
        del headers["host"]
    if origin(url) != origin(request.url):
        for name in ALWAYS_SECRET | {name.lower() for name in auth_headers}:
            if name in headers:
                del headers[name]
    content: bytes | None = None
    if method == request.method and method not in ("GET", "HEAD"):
        content = request.read()
    else:
        for name in _BODY_HEADERS:
            if name in headers:
                del headers[name]
    return httpx.Request(method, url, headers=headers, content=content)
