"""The development authorization server's two HTML pages. Every value is escaped here."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

_APPROVE_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Approve access - asstio-mcp demo</title></head>
<body style="font-family: sans-serif; max-width: 36rem; margin: 3rem auto">
<h1>Allow {client} to read ERP data?</h1>
<p>{client} (returning to {redirect_host}) asks for read-only access with scope <code>{scope}</code>.</p>
<p>It will act as user <strong>{sub}</strong> in tenant <strong>{tenant}</strong>
unless you choose otherwise below. This is the demo's development sign-in: there is no password.</p>
<form method="post" action="authorize">
{hidden}
<p><label>Tenant <select name="tenant">
{options}
</select></label></p>
<p><label>User <input name="sub" value="{sub}" required maxlength="200"></label></p>
<p><button name="decision" value="approve">Approve</button>
<button name="decision" value="deny">Deny</button></p>
</form>
</body></html>
"""

_ERROR_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Authorization refused</title></head>
<body><h1>Authorization refused</h1><p>{message}</p></body></html>
"""


def approve_page(
    *,
    client_name: str,
    redirect_uri: str,
    scope: str,
    request_fields: Mapping[str, str],
    tenants: Sequence[str],
    tenant: str,
    sub: str,
) -> str:
    """The consent form; ``request_fields`` ride along hidden so the POST can re-check them."""
    return _APPROVE_PAGE.format(
        client=html.escape(client_name),
        redirect_host=html.escape(urlsplit(redirect_uri).netloc),
        scope=html.escape(scope),
        tenant=html.escape(tenant),
        sub=html.escape(sub),
        hidden="\n".join(_hidden_input(name, value) for name, value in request_fields.items()),
        options="\n".join(_option(choice, choice == tenant) for choice in tenants),
    )


def error_page(message: str) -> str:
    return _ERROR_PAGE.format(message=html.escape(message))


def _hidden_input(name: str, value: str) -> str:
    return f'<input type="hidden" name="{html.escape(name)}" value="{html.escape(value)}">'


def _option(value: str, selected: bool) -> str:
    escaped = html.escape(value)
    return f'<option value="{escaped}"{" selected" if selected else ""}>{escaped}</option>'
