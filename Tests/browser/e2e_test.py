"""Portico in a real browser: headless Chromium, driven by Selenium, through the dashboard, the gateway and the
portal. Every page visited is saved as a PNG in PORTICO_SCREENSHOTS. Exits non-zero at the first failed check."""

import json
import os
import sys
import time
import urllib.error
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.support.ui import Select, WebDriverWait

ADMIN = os.environ["PORTICO_ADMIN_URL"]
GATEWAY = os.environ["PORTICO_GATEWAY_URL"]
UPSTREAM = os.environ["PORTICO_UPSTREAM"]
SHOTS = os.environ["PORTICO_SCREENSHOTS"]
ADMIN_EMAIL = os.environ["PORTICO_ADMIN_EMAIL"]
ADMIN_PASSWORD = os.environ["PORTICO_ADMIN_PASSWORD"]
OIDC_ISSUER = os.environ["PORTICO_OIDC_ISSUER"]
CONSUMER_EMAIL = "ann@e2e.example"
CONSUMER_PASSWORD = "ann's e2e password"

step = 0


def check(condition, what):
    if not condition:
        raise AssertionError(what)


def shot(driver, name):
    global step
    step += 1
    driver.save_screenshot(os.path.join(SHOTS, f"{step:02d}-{name}.png"))


def visit(driver, path, name):
    driver.get(ADMIN + path)
    wait_until_loaded(driver)
    shot(driver, name)
    return driver


def fill(driver, fields):
    for field_id, value in fields.items():
        element = driver.find_element(By.ID, field_id)
        element.clear()
        element.send_keys(value)


def wait_until_loaded(driver):
    WebDriverWait(driver, 10).until(lambda d: d.execute_script("return document.readyState") == "complete")


def is_gone(element):
    """Whether the element's document was replaced. chromedriver reports a node of a replaced document either as
    stale or, while the new page is being attached, as an inspector error saying so; both mean it is gone."""
    try:
        element.is_enabled()
        return False
    except StaleElementReferenceException:
        return True
    except WebDriverException as error:
        if "does not belong to the document" in str(error):
            return True
        raise


def click_and_wait(driver, element):
    """Clicks a button that loads a new page and waits until the old page is gone and the new one complete."""
    old = driver.find_element(By.TAG_NAME, "html")
    element.click()
    WebDriverWait(driver, 10).until(lambda _: is_gone(old))
    wait_until_loaded(driver)


def submit(driver, form_css="main form.card button[type=submit]"):
    click_and_wait(driver, driver.find_element(By.CSS_SELECTOR, form_css))


def flash(driver):
    found = driver.find_elements(By.CSS_SELECTOR, ".flash")
    return found[0].text if found else ""


def gateway_get(path, key):
    request = urllib.request.Request(GATEWAY + path, headers={"Authorization": f"Bearer {key}"} if key else {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def main():
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900"]:
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.implicitly_wait(2)
    try:
        run(driver)
    except Exception:
        driver.save_screenshot(os.path.join(SHOTS, "failure.png"))
        print(f"browser: the failing page was {driver.current_url}; see failure.png", file=sys.stderr)
        raise
    finally:
        driver.quit()


def run(driver):
    # Admin signs in.
    visit(driver, "/admin", "admin-sign-in")
    check(driver.current_url.endswith("/admin/sign-in"), "/admin without a session shows the sign-in form")
    fill(driver, {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    submit(driver)
    check(driver.current_url.endswith("/admin"), "signed in, on the overview")
    shot(driver, "admin-overview")

    # An API, a group, a consumer, an access grant.
    visit(driver, "/admin/apis", "admin-apis-empty")
    # The echo upstream serves an OpenAPI document of its own, fetched when the API is saved.
    fill(driver, {"api-name": "orders", "api-prefix": "/orders", "api-upstream": UPSTREAM, "api-openapi-url": "/openapi.json"})
    driver.find_element(By.NAME, "stripPrefix").click()
    submit(driver)
    check("Created API orders at /orders." in flash(driver), "the API was created")
    shot(driver, "admin-apis")

    visit(driver, "/admin/groups", "admin-groups-empty")
    fill(driver, {"group-name": "buyers"})
    submit(driver)
    check("Created group buyers." in flash(driver), "the group was created")
    shot(driver, "admin-group")

    visit(driver, "/admin/users", "admin-users")
    fill(driver, {"new-email": CONSUMER_EMAIL, "new-name": "Ann <b>E2E</b>"})
    driver.find_element(By.CSS_SELECTOR, "input[name=groups][value=buyers]").click()
    submit(driver)
    check("Created user ann@e2e.example." in flash(driver), "the consumer was created")
    check("Ann <b>E2E</b>" in driver.find_element(By.ID, "name").get_attribute("value"), "markup in a name stays text")
    user_url = driver.current_url
    shot(driver, "admin-user")

    visit(driver, "/admin/accesses", "admin-accesses-empty")
    fill(driver, {"access-name": "buyers-orders", "access-limit": "5", "access-period": "1m"})
    driver.find_element(By.CSS_SELECTOR, "input[name=groups][value=buyers]").click()
    driver.find_element(By.CSS_SELECTOR, "input[name=apis][value=orders]").click()
    submit(driver)
    check("Created access buyers-orders." in flash(driver), "the access grant was created")
    shot(driver, "admin-accesses")

    # A second API nobody may call yet, public in the catalog, where consumers may ask for it on the bronze plan.
    visit(driver, "/admin/plans", "admin-plans-empty")
    fill(driver, {"plan-name": "bronze", "plan-limit": "3", "plan-period": "1m"})
    submit(driver)
    check("bronze" in driver.page_source, "the plan was created")
    visit(driver, "/admin/apis", "admin-apis-second")
    fill(driver, {"api-name": "billing", "api-prefix": "/billing", "api-upstream": UPSTREAM, "api-openapi-url": "/openapi.json"})
    driver.find_element(By.NAME, "stripPrefix").click()
    submit(driver)
    check("Created API billing at /billing." in flash(driver), "the second API was created")
    rows = [row for row in driver.find_elements(By.CSS_SELECTOR, "tbody tr") if "billing" in row.text]
    click_and_wait(driver, rows[0].find_element(By.LINK_TEXT, "billing"))
    catalog = driver.find_element(By.CSS_SELECTOR, "form[action$='/catalog']")
    catalog.find_element(By.CSS_SELECTOR, "#catalog-visibility option[value=public]").click()
    catalog.find_element(By.CSS_SELECTOR, "input[name=catalogPlans][value=bronze]").click()
    shot(driver, "admin-api-catalog-entry")
    click_and_wait(driver, catalog.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    check("Saved the catalog entry." in flash(driver), "the catalog entry was saved")

    # A key for the consumer, shown once, works at the gateway.
    driver.get(user_url)
    fill(driver, {"key-name": "e2e"})
    click_and_wait(driver, driver.find_element(By.CSS_SELECTOR, "form[action$='/keys'] button"))
    key = driver.find_element(By.ID, "secret").get_attribute("value")
    check(key.startswith("pk_"), "the new key is shown")
    shot(driver, "admin-key-created")
    status, headers = 0, {}
    for _ in range(50):
        status, headers, _ = gateway_get("/orders/42", key)
        if status == 200:
            break
        time.sleep(0.1)
    check(status == 200, f"the gateway answers 200 with the new key (got {status})")
    check(headers.get("X-RateLimit-Limit") == "5", "rate-limit headers come back")
    check(headers.get("X-RateLimit-Remaining") == "4", "one request was counted")

    visit(driver, "/admin", "admin-overview-traffic")
    check("Gateway requests by status" in driver.page_source and "<td>200</td>" in driver.page_source, "the overview counts the 200")
    for path, name in [("/admin/keys", "admin-keys"), ("/admin/identity-providers", "admin-identity-providers"), ("/admin/auth", "admin-auth"), ("/admin/audit", "admin-audit")]:
        visit(driver, path, name)

    # An invitation link for the consumer.
    driver.get(user_url)
    click_and_wait(driver, driver.find_element(By.CSS_SELECTOR, "form[action$='/invite'] button"))
    link = driver.find_element(By.ID, "secret").get_attribute("value")
    check(link.startswith("/portal/invite/inv_"), "an invitation link is shown")
    shot(driver, "admin-invitation")
    click_and_wait(driver, driver.find_element(By.CSS_SELECTOR, "form.sign-out button"))
    check(driver.current_url.endswith("/admin/sign-in"), "signed out")

    visit(driver, link, "portal-invite")
    fill(driver, {"password": CONSUMER_PASSWORD})
    submit(driver)
    check("Password set" in flash(driver), "the password was set")
    shot(driver, "portal-sign-in")
    fill(driver, {"email": CONSUMER_EMAIL, "password": CONSUMER_PASSWORD})
    submit(driver)
    check(driver.current_url.endswith("/portal"), "the consumer is in the portal")
    check("/orders" in driver.page_source and "5 per minute" in driver.page_source, "my APIs lists orders with its limit")
    shot(driver, "portal-apis")

    # The API's page renders its OpenAPI document, with a curl line for an API key.
    click_and_wait(driver, driver.find_element(By.LINK_TEXT, "orders"))
    page = driver.page_source
    check("Portico demo echo" in page and "Echo a body" in page, "the API's page renders its OpenAPI document")
    check("/orders/hello" in page and "$PORTICO_KEY" in page, "with the gateway's paths and a curl line for an API key")
    shot(driver, "portal-api-document")
    try_it(driver, "orders", "5")

    # The consumer makes a key, copies it, and revokes it.
    visit(driver, "/portal/keys", "portal-keys")
    fill(driver, {"key-name": "laptop"})
    submit(driver)
    own_key = driver.find_element(By.ID, "secret").get_attribute("value")
    check(own_key.startswith("pk_"), "the consumer's new key is shown once")
    driver.find_element(By.CSS_SELECTOR, "[data-copy]").click()
    shot(driver, "portal-key-created")
    status, _, _ = gateway_get("/orders/1", own_key)
    check(status == 200, "the consumer's own key works")
    driver.get(ADMIN + "/portal/keys")
    rows = [row for row in driver.find_elements(By.CSS_SELECTOR, "tbody tr") if "laptop" in row.text]
    check(rows, "the key is listed")
    click_and_wait(driver, rows[0].find_element(By.CSS_SELECTOR, "a.danger"))
    check("Revoke your key laptop" in driver.page_source, "revoking asks to confirm")
    shot(driver, "portal-key-revoke-confirm")
    submit(driver)
    check("Revoked key laptop." in flash(driver), "the key was revoked")
    shot(driver, "portal-key-revoked")
    status, _, _ = gateway_get("/orders/1", own_key)
    for _ in range(50):
        if status == 401:
            break
        time.sleep(0.1)
        status, _, _ = gateway_get("/orders/1", own_key)
    check(status == 401, "a revoked key is refused by the gateway")
    rotate_a_key(driver)
    visit(driver, "/portal/token", "portal-token")

    request_approve_and_call(driver)

    # Consumers are kept out of the dashboard; the layout reads on a phone.
    visit(driver, "/admin/users", "portal-user-refused-from-admin")
    check("this page is for admins" in driver.page_source, "a consumer gets the 403 page")
    driver.set_window_size(390, 844)
    visit(driver, "/portal", "portal-apis-phone")
    driver.set_window_size(1280, 900)
    sign_in_through_provider(driver)


def try_it(driver, api, limit):
    """On an API's page: the first operation's console sends a call through the gateway as the signed-in consumer,
    without a key, and shows the upstream's answer with the rate-limit headers of the consumer's plan."""
    click_and_wait(driver, driver.find_element(By.CSS_SELECTOR, "a.button[href$='/try/op-hello']"))
    check("Sent through the gateway as you" in driver.page_source, f"the console of {api} explains what it does")
    shot(driver, f"portal-try-it-{api}-form")
    submit(driver, "main form button[type=submit]")
    page = driver.page_source
    check("Answer:" in page and "200 OK" in page, f"the console shows the upstream's answer for {api}")
    check("X-RateLimit-Limit</strong></td><td><code>" + limit in page, f"with the rate-limit headers of the consumer's limit on {api}")
    check("/hello" in driver.find_element(By.CSS_SELECTOR, "pre.response-body").text, "the upstream got the operation's path")
    shot(driver, f"portal-try-it-{api}-answer")


def gateway_status_becomes(path, key, wanted):
    """The gateway's status for the call once it is `wanted` (policy changes reach it within moments), or the last."""
    status = 0
    for _ in range(50):
        status, _, _ = gateway_get(path, key)
        if status == wanted:
            break
        time.sleep(0.1)
    return status


def rotate_a_key(driver):
    """The consumer rotates a key: the new secret is shown once, and the old key keeps working for the overlap."""
    visit(driver, "/portal/keys", "portal-keys-before-rotation")
    fill(driver, {"key-name": "ci-runner"})
    submit(driver)
    old_key = driver.find_element(By.ID, "secret").get_attribute("value")
    check(gateway_status_becomes("/orders/1", old_key, 200) == 200, "the key to rotate works")
    driver.get(ADMIN + "/portal/keys")
    wait_until_loaded(driver)
    rows = [row for row in driver.find_elements(By.CSS_SELECTOR, "tbody tr") if "ci-runner" in row.text]
    check(rows, "the key to rotate is listed")
    click_and_wait(driver, rows[0].find_element(By.LINK_TEXT, "Rotate…"))
    check("The old key keeps working for" in driver.page_source, "rotating asks for the overlap")
    Select(driver.find_element(By.ID, "rotate-overlap")).select_by_value("86400")
    shot(driver, "portal-key-rotate-confirm")
    submit(driver)
    new_key = driver.find_element(By.ID, "secret").get_attribute("value")
    check(new_key.startswith("pk_") and new_key != old_key, "the new key is shown once")
    check("works until" in driver.page_source, "the page says until when the old key works")
    shot(driver, "portal-key-rotated")
    # Both keys are the consumer's, under one rate limit of 5 calls a minute that this test has mostly spent: a key
    # the gateway accepts is answered 200, or 429 once the limit is reached; a key it refuses, 401.
    for which, key in [("new", new_key), ("old", old_key)]:
        status = gateway_status_becomes("/orders/1", key, 200)
        check(status in (200, 429), f"the {which} key is accepted during the overlap (got {status})")
    visit(driver, "/portal/keys", "portal-keys-after-rotation")
    check(driver.page_source.count("ci-runner") >= 2, "both keys are listed")


def explain_as_consumer(driver, url, expected, name):
    """On the dashboard's Explain page, a call of the consumer's explained step by step."""
    visit(driver, "/admin/explain", f"{name}-form")
    fill(driver, {"explain-url": url, "explain-user": CONSUMER_EMAIL})
    submit(driver)
    page = driver.page_source
    check(expected in page, f"the explanation says {expected}")
    check("explained as user" in page and "route" in page and "access" in page, "every step is shown")
    driver.execute_script("document.querySelector('.explanation').scrollIntoView()")
    shot(driver, name)


def request_approve_and_call(driver):
    """The consumer asks for billing in the catalog; the admin approves it on the dashboard; the consumer then
    calls it from the console, under the plan they chose."""
    visit(driver, "/portal/catalog", "portal-catalog")
    entries = [entry for entry in driver.find_elements(By.CSS_SELECTOR, "section.catalog-entry") if "billing" in entry.text]
    check(entries and "Request access" in entries[0].text, "billing is in the catalog, to be requested")
    check("you have access" in driver.page_source, "orders is marked as callable")
    entries[0].find_element(By.NAME, "reason").send_keys("monthly invoices")
    click_and_wait(driver, entries[0].find_element(By.CSS_SELECTOR, "button[type=submit]"))
    check("Request for billing sent" in flash(driver), "the request was sent")
    check("request pending" in driver.page_source, "the catalog says it waits")
    shot(driver, "portal-catalog-requested")

    sign_out(driver)
    visit(driver, "/admin/sign-in", "admin-sign-in-to-approve")
    fill(driver, {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    submit(driver)
    check('<span class="number">1</span> access requests waiting' in driver.page_source, "the overview shows the waiting request")
    explain_as_consumer(driver, "/billing/hello", "403 no_access", "admin-explain-denied")
    check("groups with grants on it are" in driver.page_source, "the access step names the groups holding grants")
    visit(driver, "/admin/access-requests", "admin-access-requests")
    check("monthly invoices" in driver.page_source and "bronze" in driver.page_source, "the request shows its reason and plan")
    click_and_wait(driver, driver.find_element(By.CSS_SELECTOR, "form[action$='/approve'] button"))
    check("Approved: " + CONSUMER_EMAIL + " may call billing" in flash(driver), "the request was approved")
    shot(driver, "admin-access-request-approved")
    explain_as_consumer(driver, "/billing/hello", "forwarded to the upstream", "admin-explain-after-approval")
    check("The request the upstream would get" in driver.page_source, "the upstream request is shown")
    sign_out(driver)

    visit(driver, "/portal/sign-in", "portal-sign-in-again")
    fill(driver, {"email": CONSUMER_EMAIL, "password": CONSUMER_PASSWORD})
    submit(driver)
    visit(driver, "/portal/catalog", "portal-catalog-granted")
    entries = [entry for entry in driver.find_elements(By.CSS_SELECTOR, "section.catalog-entry") if "billing" in entry.text]
    check(entries and "you have access" in entries[0].text, "billing is callable now")
    click_and_wait(driver, entries[0].find_element(By.LINK_TEXT, "Documentation and try-it"))
    try_it(driver, "billing", "3")


def call_oidc_protected_api(driver):
    """The admin puts the orders API behind an OIDC session (in a second window); the browser then calls it, passes
    through the provider's page and gets the upstream's answer."""
    consumer = driver.current_window_handle
    driver.switch_to.new_window("window")
    visit(driver, "/admin/sign-in", "admin-sign-in-for-oidc-api")
    fill(driver, {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    submit(driver)
    visit(driver, "/admin/apis", "admin-apis-for-oidc")
    rows = [row for row in driver.find_elements(By.CSS_SELECTOR, "tbody tr") if "orders" in row.text]
    check(rows, "the orders API is listed")
    click_and_wait(driver, rows[0].find_element(By.CSS_SELECTOR, "a"))
    driver.find_element(By.CSS_SELECTOR, "#api-auth option[value=oidc]").click()
    driver.find_element(By.CSS_SELECTOR, "#api-oidc-provider option[value=mock]").click()
    fill(driver, {"api-oidc-redirect": "/callback", "api-oidc-logout": "/logout"})
    shot(driver, "admin-api-oidc")
    submit(driver)
    check("Saved API orders." in flash(driver), "the API now needs an OIDC session")
    driver.close()
    driver.switch_to.window(consumer)

    status = 0
    for _ in range(50):
        status, _, _ = gateway_get("/orders/1", None)
        if status == 401:
            break
        time.sleep(0.1)
    check(status == 401, "without a session, an API client gets a 401")
    driver.get(GATEWAY + "/orders/1")
    wait_until_loaded(driver)
    if driver.current_url.startswith(OIDC_ISSUER):
        shot(driver, "provider-authorize-for-api")
        click_and_wait(driver, driver.find_element(By.CSS_SELECTOR, "button[value=bea]"))
    check(driver.current_url == GATEWAY + "/orders/1", f"back at the API ({driver.current_url})")
    check('"path"' in driver.page_source and "bea" not in driver.current_url, "the upstream answered through the session")
    shot(driver, "oidc-protected-api-answer")


def sign_out(driver):
    click_and_wait(driver, driver.find_element(By.CSS_SELECTOR, "form.sign-out button"))


def sign_in_through_provider(driver):
    """An admin registers oidc-provider-mock for portal sign-in; a consumer signs in on the provider's own page."""
    sign_out(driver)
    visit(driver, "/admin/sign-in", "admin-sign-in-again")
    fill(driver, {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    submit(driver)
    visit(driver, "/admin/identity-providers", "admin-identity-providers-empty")
    fill(driver, {"idp-name": "mock", "idp-issuer": OIDC_ISSUER, "idp-client": "portico", "idp-secret": "e2e client secret"})
    driver.find_element(By.NAME, "signInPortal").click()
    submit(driver)
    check("Created identity provider mock." in flash(driver), "the provider was discovered and created")
    check("/oidc/mock/callback" in driver.page_source, "its redirect URI is shown")
    shot(driver, "admin-identity-provider")
    sign_out(driver)

    visit(driver, "/portal/sign-in", "portal-sign-in-with-provider")
    click_and_wait(driver, driver.find_element(By.LINK_TEXT, "Sign in with mock"))
    check(driver.current_url.startswith(OIDC_ISSUER), "the browser is at the provider")
    shot(driver, "provider-authorize-page")
    click_and_wait(driver, driver.find_element(By.CSS_SELECTOR, "button[value=bea]"))
    check(driver.current_url == ADMIN + "/portal", f"back on the portal, signed in ({driver.current_url})")
    check("bea@e2e.example" in driver.page_source, "as the provider's user")
    check("orders" in driver.page_source, "with the APIs her groups from the provider grant")
    shot(driver, "portal-signed-in-through-provider")
    sign_out(driver)
    WebDriverWait(driver, 10).until(lambda d: d.current_url.startswith(OIDC_ISSUER))
    check(driver.current_url.startswith(OIDC_ISSUER + "/oauth2/end_session"), "sign-out ends the provider's session too")
    wait_until_loaded(driver)
    shot(driver, "provider-end-session")
    call_oidc_protected_api(driver)


if __name__ == "__main__":
    try:
        main()
    except Exception as error:  # one line, then the exit code for make test
        print(f"browser: FAILED at step {step}: {error}", file=sys.stderr)
        sys.exit(1)
    print(f"browser: passed ({step} screenshots in {SHOTS})")
