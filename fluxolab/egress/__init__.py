"""The egress guard: the one way the server opens an outbound connection to a user's target.

Every server-side fetch whose destination comes from users (the HTTP Request node, e-mail
and AI nodes, credential tests, OAuth2 token fetches) goes through an ``Egress``: ``request``
for HTTP, ``connect`` for other TCP protocols (SMTP). Both resolve the host once, refuse it
when any of its addresses is not public (loopback, private, link-local, CGNAT, multicast,
reserved, documentation ...; IPv4 in every spelling, IPv6 and the IPv6 forms that embed an
IPv4 address) unless the operator's allow-list (``EGRESS_ALLOW``) opens it, and connect to
the very address that was checked. HTTP is http/https only, redirects are off unless asked
for and then re-checked per hop, credential headers never follow a redirect to another
origin, and the body size and the total time of a request are capped.

Modules: ``addresses`` (what is refused, the allow-list), ``resolve`` (the check),
``transport`` (the pinned httpx transport), ``redirects``, ``decoding`` (bodies inflated
under the cap), ``tcp``, ``client`` (``Egress``).

The rule, checked by ``tests/egress/test_no_bypass.py`` over ``fluxolab`` and ``workers``:
outside this package no code opens a connection itself, i.e. never calls
``socket.create_connection``/``socket.socket``, ``httpx.Client``/``httpx.get`` and the
other module-level httpx helpers, ``urllib.request.urlopen``, ``http.client`` connections,
``smtplib.SMTP(...)`` or ``smtplib.SMTP_SSL(...)``. SMTP clients subclass ``smtplib.SMTP``
and return ``Egress.connect(...)`` from ``_get_socket`` (TLS wrapped on that socket), so
smtplib only ever speaks over a guarded socket. Two modules are exempt because their
destinations come from the operator's own configuration, never from users: ``fluxolab.mail``
(system mail to ``SMTP_HOST``) and ``fluxolab.standalone`` (the local launcher probing the
processes it started).
"""

from __future__ import annotations

from fluxolab.egress.client import Egress
from fluxolab.egress.errors import EgressDenied, EgressError
from fluxolab.egress.policy import EgressPolicy

__all__ = ["Egress", "EgressDenied", "EgressError", "EgressPolicy"]
