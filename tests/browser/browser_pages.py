"""Every page a person sees, with the role that sees it: the accessibility test walks them all.

A page is a path (with the site's ids filled in), optionally a form sent from
it: its answer is the page (a refused form, a preview, a one-time link). The
list must name every GET route that answers HTML (test_accessibility checks it
against the app's url_map), so a new page cannot be left out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

CSV = "number,custom_field\n+919876500010,order-1\n+919876500021,order-2\n12,bad\n"


@dataclass(frozen=True)
class Page:
    name: str  # its screenshots are <name>-<width>.png
    role: str | None  # who looks at it; None: signed out
    path: str  # may name {call}, {failed}, {campaign}, {link}, {user}, {token}, {alert} and {webhook}, the site's ids
    status: int = 200  # what the page (or the form's answer) is served with
    submit: Callable[..., None] | None = None  # (page, tag): sends a form of the page at `path`

    def url(self, ids: dict[str, str]) -> str:
        return self.path.format(**ids)


def _empty_call(page, tag: str) -> None:
    page.get_by_role("button", name="Place call").click()


def _empty_campaign(page, tag: str) -> None:
    page.get_by_role("button", name="Import and preview").click()


def _campaign(page, tag: str) -> None:
    page.get_by_label("Name").fill(f"Preview {tag}")
    page.get_by_label("Flow: app id or flow URL").fill("123456")
    page.get_by_label("Contact list (CSV)").set_input_files(
        files=[{"name": "list.csv", "mimeType": "text/csv", "buffer": CSV.encode()}])
    page.get_by_role("button", name="Import and preview").click()


def _add_user(page, tag: str) -> None:
    page.get_by_label("Email").fill(f"added-{tag}@example.com")
    page.get_by_label("Role", exact=True).select_option("operator")
    page.get_by_role("button", name="Add user").click()


def _add_token(page, tag: str) -> None:
    page.get_by_label("Name").fill(f"crm-{tag}")
    page.get_by_role("button", name="Create token").click()


def _empty_webhook(page, tag: str) -> None:
    page.get_by_role("button", name="Register endpoint").click()


def _wrong_password(page, tag: str) -> None:
    page.get_by_label("Email").fill("viewer@example.com")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()


# Before any user exists: the first-run set-up.
FIRST_RUN = [Page("setup", None, "/setup")]

PAGES = [
    Page("sign-in", None, "/login"),
    Page("sign-in-refused", None, "/login", 401, _wrong_password),
    Page("set-password", None, "/set-password/{link}"),
    Page("link-invalid", None, "/set-password/no-such-link", 404),
    # A viewer reads everything and changes nothing.
    Page("home", "viewer", "/"),
    Page("calls", "viewer", "/calls"),
    Page("calls-filtered", "viewer", "/calls?status=completed&since=2000-01-01"),
    Page("calls-bad-filter", "viewer", "/calls?number=abc"),
    Page("calls-found", "viewer", "/calls?number=43210&exophone=08047112345&flow=230001&status=calling"),
    Page("calls-csv-refused", "viewer", "/calls.csv?number=abc", 400),
    Page("call", "viewer", "/calls/{call}"),
    Page("call-failed", "viewer", "/calls/{failed}"),
    Page("reports", "viewer", "/reports"),
    Page("reports-utc", "viewer", "/reports?tz=UTC"),
    Page("campaigns", "viewer", "/campaigns"),
    Page("settings", "viewer", "/settings"),
    Page("alerts", "viewer", "/alerts"),
    Page("password", "viewer", "/password"),
    Page("forbidden", "viewer", "/calls/new", 403),
    Page("not-found", "viewer", "/calls/no-such-call", 404),
    # An operator places calls and runs campaigns.
    Page("place-call", "operator", "/calls/new"),
    Page("place-call-refused", "operator", "/calls/new", 422, _empty_call),
    Page("campaign", "operator", "/campaigns/{campaign}"),
    Page("campaign-filtered", "operator", "/campaigns/{campaign}?state=completed"),
    Page("new-campaign", "operator", "/campaigns/new"),
    Page("new-campaign-refused", "operator", "/campaigns/new", 422, _empty_campaign),
    Page("campaign-preview", "operator", "/campaigns/new", 200, _campaign),
    Page("suppressions", "operator", "/suppressions"),
    Page("cancel-campaign", "operator", "/campaigns/{campaign}/cancel"),
    # An admin also manages users and tokens and reads the audit log.
    Page("users", "admin", "/admin/users"),
    Page("user-link", "admin", "/admin/users", 201, _add_user),
    Page("tokens", "admin", "/admin/tokens"),
    Page("token-created", "admin", "/admin/tokens", 201, _add_token),
    Page("revoke-token", "admin", "/admin/tokens/{token}/revoke"),
    Page("disable-user", "admin", "/admin/users/{user}/disable"),
    Page("audit", "admin", "/admin/audit"),
    Page("audit-filtered", "admin", "/admin/audit?action=sign_in"),
    Page("exotel-check", "admin", "/admin/exotel"),
    Page("alert", "admin", "/alerts/{alert}"),
    Page("webhooks", "admin", "/admin/webhooks"),
    Page("webhooks-refused", "admin", "/admin/webhooks", 422, _empty_webhook),
    Page("webhook", "admin", "/admin/webhooks/{webhook}"),
]
