"""Customers, suppliers and the price list in a real browser: finance creates a customer with a credit limit through
the form's labels, adds a contact, opens the list; a buyer gives a supplier a price; the price list page; screenshots
at desktop and phone width, no console error."""

from __future__ import annotations

from tests.browser import test_ui
from tests.browser.test_ui import UI, screenshot

browser, site, ui = test_ui.browser, test_ui.site, test_ui.ui  # the UI tests' fixtures: the whole stack, Chromium
pytestmark = test_ui.pytestmark


async def test_a_customer_with_a_credit_limit_a_contact_and_a_supplier_with_a_price(ui: UI) -> None:
    grace = await ui.login("grace")
    await grace.get_by_role("link", name="Customers").first.click()
    await grace.get_by_role("link", name="New customer").click()
    await grace.get_by_label("Name").fill("Wayne Enterprises")
    await grace.get_by_label("Currency").fill("USD")
    await grace.get_by_label("Payment terms (days)").fill("45")
    await grace.get_by_label("Credit limit").fill("25,000")
    await screenshot(grace, "issue18-customer-new")
    await grace.get_by_role("button", name="Save customer").click()
    await grace.get_by_text("Customer Wayne Enterprises is saved.").wait_for()
    await grace.locator("#k-name").fill("Lucius Fox")
    await grace.locator("#k-email").fill("lucius@wayne.example")
    await grace.get_by_role("button", name="Add contact").click()
    await grace.get_by_text("Contact Lucius Fox is added.").wait_for()
    assert "25,000.00" in await grace.locator("#credit").inner_text()
    await screenshot(grace, "issue18-customer")
    await grace.goto("/customers")
    await screenshot(grace, "issue18-customers")

    dave = await ui.login("dave")
    await dave.goto("/suppliers")
    await screenshot(dave, "issue18-suppliers")
    await dave.get_by_role("link", name="Volt Motors").click()
    await dave.locator("#p-sku").fill("MOTOR-200W")
    await dave.locator("#p-price").fill("180")
    await dave.locator("#p-lead").fill("10")
    await dave.get_by_role("button", name="Save price").click()
    await dave.get_by_text("The price of MOTOR-200W is saved.").wait_for()
    await screenshot(dave, "issue18-supplier")

    bob = await ui.login("bob")
    await bob.goto("/price-lists")
    await bob.locator("#pl-sku").fill("FAN-200")
    await bob.locator("#pl-price").fill("480")
    await bob.get_by_role("button", name="Save price").click()
    await bob.get_by_text("The price of FAN-200 is saved.").wait_for()
    await screenshot(bob, "issue18-price-list")
    ui.assert_no_console_errors()
