"""Browser journeys: Debian's Chromium driven by Playwright against pytest-django's live server.

Never run ``playwright install``: the browser is the system one at /usr/bin/chromium.
"""

import io
import os
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread, so Django would refuse
# ORM calls made by the test itself (seeding, assertions). The live server runs in
# its own thread and is unaffected. Set for this test process only.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SCREENSHOTS = Path(__file__).parent / "screenshots"  # git-ignored
DEMO_PASSWORD = "portal-demo-2026"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
BLOCKING_IMPACTS = {"serious", "critical"}


# Package scope, not session: Playwright's sync API keeps an asyncio loop running in this thread
# for as long as it is started, and Django's async_to_sync (the health page's checks, for one)
# refuses to run beside it. So it runs only while consecutive tests are browser tests, and stops
# before any other test, however pytest-xdist interleaves them on a worker.
@pytest.fixture(scope="package")
def playwright_instance():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (never `playwright install`).")
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="package")
def browser(playwright_instance):
    browser = playwright_instance.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


def _new_page(browser, viewport):
    context = browser.new_context(locale="en-GB", timezone_id="Europe/London", viewport=viewport)
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.on("console", lambda msg: _console_error(page, msg))
    page.on("pageerror", lambda exc: page_errors(page).append(f"pageerror: {exc}"))
    return context, page


def _console_error(page, msg) -> None:
    # A page that answers 400 (a form sent back) or 404 (a dead end) says so in its status, and
    # Chromium logs that as an error of the document itself: not a fault of the page. A file the
    # page loads (a script, a style sheet) failing to load is one, logged at that file's address.
    if msg.type != "error":
        return
    url = msg.location.get("url")
    if msg.text.startswith("Failed to load resource: the server responded") and url == page.url:
        return
    page_errors(page).append(f"console: {msg.text} ({url})")


def page_errors(page) -> list[str]:
    """JavaScript errors and console errors (CSP refusals among them) seen by a page."""
    if not hasattr(page, "_portal_errors"):
        page._portal_errors = []
    return page._portal_errors


@pytest.fixture
def page(browser):
    context, page = _new_page(browser, DESKTOP)
    yield page
    context.close()


@pytest.fixture
def phone_page(browser):
    context, page = _new_page(browser, PHONE)
    yield page
    context.close()


@pytest.fixture
def open_browser(browser):
    """A browser window per person, each with its own cookies: ``open_browser(viewport)``."""
    contexts = []

    def _open(viewport=DESKTOP):
        context, page = _new_page(browser, viewport)
        contexts.append(context)
        return page

    yield _open
    for context in contexts:
        context.close()


@pytest.fixture
def demo_data(transactional_db):
    """The demo trust, schools and sign-ins from ``seed_demo``, in the live server's database."""
    from django.core.management import call_command

    call_command("seed_demo", stdout=io.StringIO())


@pytest.fixture
def sign_in(live_server):
    """Signs a demo person in through the real form; returns the page on the home page."""

    def _sign_in(page, email: str, password: str = DEMO_PASSWORD):
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{live_server.url}/")
        return page

    return _sign_in


def assert_accessible(page, label: str) -> dict:
    """Runs axe-core on the page; fails on any serious or critical violation."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    violations = results.response["violations"]
    blocking = [v for v in violations if v["impact"] in BLOCKING_IMPACTS]
    for v in violations:
        if v["impact"] not in BLOCKING_IMPACTS:
            print(f"axe ({label}): {v['id']} ({v['impact']}) on {len(v['nodes'])} node(s)")
    if blocking:
        lines = [f"axe found {len(blocking)} serious/critical violation(s) on {label} ({page.url}):"]
        for v in blocking:
            lines.append(f"- {v['id']} ({v['impact']}): {v['help']} {v['helpUrl']}")
            for node in v["nodes"]:
                lines.append(f"    {', '.join(map(str, node['target']))}: {node['html'][:200]}")
                if node.get("failureSummary"):
                    lines.append("      " + node["failureSummary"].replace("\n", "\n      "))
        pytest.fail("\n".join(lines), pytrace=False)
    return results.response


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def assert_no_horizontal_scroll(page, label: str) -> None:
    widths = page.evaluate(
        "() => ({scroll: document.documentElement.scrollWidth, inner: window.innerWidth,"
        " wide: [...document.querySelectorAll('body *')]"
        "   .filter(el => el.getBoundingClientRect().right > window.innerWidth + 0.5)"
        "   .slice(0, 5).map(el => el.tagName.toLowerCase() + (el.className ? '.' + el.className : ''))})"
    )
    assert widths["scroll"] <= widths["inner"], (
        f"{label} scrolls sideways: scrollWidth {widths['scroll']} > innerWidth {widths['inner']};"
        f" wider than the viewport: {widths['wide']}"
    )


def check_page(page, label: str, shot: str) -> dict:
    """Saves the page as a screenshot, runs axe on it and expects no script errors; returns axe's answer."""
    screenshot(page, shot)
    results = assert_accessible(page, label)
    assert page_errors(page) == [], f"{label}: {page_errors(page)}"
    return results


def check_page_clean(page, label: str, shot: str) -> None:
    """check_page, and no axe violation of any impact (check_page fails on serious and critical ones)."""
    results = check_page(page, label, shot)
    assert results["violations"] == [], f"{label}: {[v['id'] for v in results['violations']]}"


def local_input(moment) -> str:
    """A moment as a datetime-local field takes it, in the portal's time zone."""
    from django.utils import timezone

    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def drawn_post(path: Path, title: str, text: str, colour=(59, 89, 152)) -> Path:
    """A made-up screenshot of a post (no real people), saved as a PNG at ``path``."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (640, 300), (250, 250, 250))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 640, 52), fill=colour)
    draw.text((16, 18), title, fill=(255, 255, 255))
    draw.ellipse((16, 70, 96, 150), outline=(0, 0, 0), width=3)
    draw.text((112, 96), text, fill=(0, 0, 0))
    image.save(path, "PNG")
    return path
