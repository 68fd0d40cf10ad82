"""Minimal HTML for the fake Stripe's hosted pages (Checkout, Customer Portal, invoices, receipts).

Plain forms, no JavaScript: a browser test clicks buttons, a unit test posts forms with urllib.
Button labels are part of the contract tests rely on: Checkout has "Pay" and "Cancel"; the portal
has "Cancel at period end", "Renew", "Cancel now" (with the optional "Reason for canceling"
and "Anything else?" fields), "Switch to …" and "Return"; an open invoice has "Pay invoice".
Amounts are formatted here (``money``) for the pages and for error messages alike.
"""

from __future__ import annotations

import datetime
from html import escape

ZERO_DECIMAL = frozenset(
    {
        "bif",
        "clp",
        "djf",
        "gnf",
        "jpy",
        "kmf",
        "krw",
        "mga",
        "pyg",
        "rwf",
        "ugx",
        "vnd",
        "vuv",
        "xaf",
        "xof",
        "xpf",
    }
)
_SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£", "chf": "CHF ", "gel": "₾"}

_STYLE = """
body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#1a1f36}
.mode{display:inline-block;background:#ffde92;color:#663c00;padding:.1rem .5rem;border-radius:4px;
font-size:.8rem;font-weight:600}
section{border:1px solid #e3e8ee;border-radius:8px;padding:1rem;margin:1rem 0}
form{display:inline-block;margin:.25rem .25rem .25rem 0}
button{font:inherit;padding:.45rem .9rem;border-radius:6px;border:1px solid #635bff;
background:#635bff;
color:#fff;cursor:pointer}
button.secondary{background:#fff;color:#635bff}
label{display:block;margin:.5rem 0}
input{font:inherit;padding:.35rem;width:100%;box-sizing:border-box}
.error{color:#df1b41}
"""


def money(amount: int | None, currency: str | None) -> str:
    """Format an amount in the currency's smallest unit, e.g. (1250, "eur") → "€12.50"."""
    if amount is None or not currency:
        return "—"
    currency = currency.lower()
    symbol = _SYMBOLS.get(currency)
    if currency in ZERO_DECIMAL:
        number = f"{amount:,}"
    else:
        number = f"{amount / 100:,.2f}"
    return f"{symbol}{number}" if symbol else f"{number} {currency.upper()}"


def recurring_text(recurring: dict | None) -> str:
    if not recurring:
        return ""
    interval, count = recurring["interval"], recurring.get("interval_count") or 1
    return f"per {interval}" if count == 1 else f"every {count} {interval}s"


def date_text(timestamp: int | None) -> str:
    if not timestamp:
        return "—"
    return datetime.datetime.fromtimestamp(timestamp, datetime.UTC).strftime("%Y-%m-%d")


def layout(title: str, body: str, *, livemode: bool = False) -> str:
    badge = "" if livemode else '<p class="mode">TEST MODE</p>'
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body>{badge}<p>Fake Stripe</p>{body}</body></html>"
    )


def _button(action: str, label: str, fields: dict[str, str] | None = None, cls: str = "") -> str:
    hidden = "".join(
        f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">'
        for k, v in (fields or {}).items()
    )
    klass = f' class="{cls}"' if cls else ""
    return (
        f'<form method="post" action="{escape(action)}">{hidden}'
        f'<button type="submit"{klass}>{escape(label)}</button></form>'
    )


def checkout_page(
    session: dict, items: list[dict], *, email: str, email_locked: bool, error: str = ""
) -> str:
    sid = session["id"]
    rows = []
    for item in items:
        price = item["price"]
        rows.append(
            "<li>"
            f"{escape(item['description'] or '')} × {item['quantity']}: "
            f"{escape(money(item['amount_total'], item['currency']))} "
            f"{escape(recurring_text(price.get('recurring')))}</li>"
        )
    heading = "Subscribe" if session["mode"] == "subscription" else "Pay"
    readonly = " readonly" if email_locked else ""
    err = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    body = (
        f"<h1>{heading} {escape(money(session['amount_total'], session['currency']))}</h1>"
        f"<ul>{''.join(rows)}</ul>"
        f"<p>Total due today: <strong>"
        f"{escape(money(session['amount_total'], session['currency']))}</strong></p>{err}"
        f'<form method="post" action="/checkout/{escape(sid)}/pay">'
        f'<label>Email <input type="email" name="email" value="{escape(email)}" required'
        f"{readonly}></label>"
        "<p>Card: 4242 4242 4242 4242 (test card, nothing to type)</p>"
        '<button type="submit">Pay</button></form>'
        + _button(f"/checkout/{sid}/cancel", "Cancel", cls="secondary")
    )
    return layout(f"Checkout {sid}", body, livemode=session["livemode"])


def closed_checkout_page(session: dict) -> str:
    body = (
        "<h1>This Checkout Session is no longer active</h1>"
        f"<p>Status: {escape(session['status'])}, payment: {escape(session['payment_status'])}.</p>"
    )
    return layout("Checkout closed", body, livemode=session["livemode"])


def portal_page(
    portal: dict,
    customer: dict,
    entries: list[dict],
    feedback_choices: tuple[str, ...],
    message: str = "",
) -> str:
    """``entries``: one per subscription, ``{"subscription", "label", "alternatives"}`` where
    ``alternatives`` lists ``(price_id, label)`` pairs the subscription may switch to;
    ``feedback_choices``: the reasons a customer may give when canceling."""
    pid = portal["id"]
    action = f"/portal/{pid}"
    parts = [
        "<h1>Manage your subscriptions</h1>",
        f"<p>Signed in as {escape(customer.get('email') or customer['id'])}</p>",
    ]
    if message:
        parts.append(f'<p role="status">{escape(message)}</p>')
    if not entries:
        parts.append("<p>No subscriptions.</p>")
    for entry in entries:
        sub = entry["subscription"]
        period_end = max(i["current_period_end"] for i in sub["items"]["data"])
        lines = [
            f'<section id="{escape(sub["id"])}"><h2>{escape(entry["label"])}</h2>',
            f"<p>Status: {escape(sub['status'])}</p>",
        ]
        if sub["status"] in ("canceled", "incomplete_expired"):
            lines.append(f"<p>Ended on {date_text(sub['ended_at'])}</p></section>")
            parts.append("".join(lines))
            continue
        if sub["cancel_at"]:
            lines.append(f"<p>Cancels on {date_text(sub['cancel_at'])}</p>")
        else:
            lines.append(f"<p>Renews on {date_text(period_end)}</p>")
        fields = {"subscription": sub["id"]}
        scheduled = sub["cancel_at_period_end"] or sub["cancel_at"]
        if scheduled:
            lines.append(_button(action, "Renew", {**fields, "action": "renew"}))
        lines.append(_cancel_form(action, sub["id"], feedback_choices, not scheduled))
        for price_id, label in entry["alternatives"]:
            lines.append(
                _button(
                    action,
                    f"Switch to {label}",
                    {**fields, "action": "switch", "price": price_id},
                    "secondary",
                )
            )
        lines.append("</section>")
        parts.append("".join(lines))
    parts.append(_button(f"/portal/{pid}/return", "Return", cls="secondary"))
    return layout("Customer portal", "".join(parts), livemode=portal["livemode"])


def _cancel_form(action: str, sub_id: str, choices: tuple[str, ...], at_period_end: bool) -> str:
    """Why the customer leaves (optional), then "Cancel at period end" and "Cancel now"."""
    options = '<option value="">Prefer not to say</option>' + "".join(
        f'<option value="{escape(c)}">{escape(c.replace("_", " ").capitalize())}</option>'
        for c in choices
    )
    later = (
        '<button type="submit" name="action" value="cancel_at_period_end">'
        "Cancel at period end</button>"
        if at_period_end
        else ""
    )
    return (
        f'<form method="post" action="{escape(action)}">'
        f'<input type="hidden" name="subscription" value="{escape(sub_id)}">'
        f'<label>Reason for canceling <select name="feedback">{options}</select></label>'
        '<label>Anything else? <input type="text" name="comment"></label>'
        f"{later}"
        '<button type="submit" name="action" value="cancel_now" class="secondary">'
        "Cancel now</button></form>"
    )


def invoice_page(invoice: dict) -> str:
    iid = invoice["id"]
    body = [
        f"<h1>Invoice {escape(invoice.get('number') or iid)}</h1>",
        f"<p>Amount due: {escape(money(invoice['amount_due'], invoice['currency']))}</p>",
        f"<p>Amount paid: {escape(money(invoice['amount_paid'], invoice['currency']))}</p>",
        f"<p>Status: {escape(invoice['status'] or '')}</p>",
    ]
    if invoice["status"] == "open":
        body.append(_button(f"/invoice/{iid}/pay", "Pay invoice"))
    return layout(f"Invoice {iid}", "".join(body), livemode=invoice["livemode"])


def receipt_page(charge: dict) -> str:
    body = (
        f"<h1>Receipt for {escape(money(charge['amount'], charge['currency']))}</h1>"
        f"<p>Charge {escape(charge['id'])}, status {escape(charge['status'])}, refunded "
        f"{escape(money(charge['amount_refunded'], charge['currency']))}.</p>"
    )
    return layout("Receipt", body, livemode=charge["livemode"])


def message_page(title: str, text: str, livemode: bool = False) -> str:
    return layout(title, f"<h1>{escape(title)}</h1><p>{escape(text)}</p>", livemode=livemode)
