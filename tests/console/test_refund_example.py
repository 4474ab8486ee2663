"""The product wizard shows the worked refund example of the product's own rules beside its refund settings."""

import html

from server.products.validation import product_refund_example
from server.templates_library import get_template


def test_the_wizard_shows_the_refund_example_of_the_template(staff_client):
    page = html.unescape(staff_client("owner").get("/console/products/new?template_code=bakery_stored_value")
                         .get_data(as_text=True))
    example = product_refund_example(get_template("bakery_stored_value")["defaults"])
    assert example is not None and "data-refund-example" in page
    section = page[page.index("<legend>退款</legend>"):page.index("<legend>卡号规则</legend>")]
    assert "退款举例" in section
    assert f"可退 ¥{example.refund.customer_reason_fen // 100}" in section.replace(",", "")


def test_a_count_card_shows_no_stored_value_example(staff_client):
    page = staff_client("owner").get("/console/products/new?template_code=hair_salon_count").get_data(as_text=True)
    assert "data-refund-example" not in page
