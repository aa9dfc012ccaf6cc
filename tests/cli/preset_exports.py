"""Deterministic export files in the layouts the presets read, built from their documentation.

40 customers with a taste for one of four product families buy a few orders each over six
months, so a recommender has real co-purchases to learn from.
"""

from __future__ import annotations

import csv
import json
import random
from datetime import datetime, timedelta
from pathlib import Path

FAMILIES = {
    "Tea": ["Green Tea Sencha", "Earl Grey Loose Leaf", "Jasmine Pearls", "Matcha Whisk",
            "Teapot Cast Iron", "Oolong Tie Guan Yin"],
    "Coffee": ["Espresso Beans Dark", "Pour-Over Dripper", "Burr Grinder", "Filter Papers 100",
               "Colombia Single Origin", "Milk Frother"],
    "Baking": ["Rye Flour 1kg", "Sourdough Starter", "Proofing Basket", "Dough Scraper",
               "Loaf Tin", "Baking Stone"],
    "Garden": ["Tomato Seeds", "Trowel Steel", "Watering Can", "Compost Bin", "Garden Gloves",
               "Herb Planter"],
}  # fmt: skip
VENDORS = {"Tea": "Leaf & Co", "Coffee": "Roastery North", "Baking": "Crumb Works",
           "Garden": "Green Thumb"}  # fmt: skip
CITIES = [("Leeds", "GB"), ("Lyon", "FR"), ("Porto", "PT"), ("Graz", "AT"), ("Cork", "IE")]
START = datetime(2024, 1, 8, 9, 0)


def _catalogue() -> list[dict[str, object]]:
    items = []
    for f_index, (family, titles) in enumerate(FAMILIES.items()):
        for t_index, title in enumerate(titles):
            items.append({
                "sku": f"{family[:3].upper()}-{t_index + 1:02d}", "product_id": 100 + 10 * f_index
                + t_index, "title": title, "family": family, "vendor": VENDORS[family],
                "price": round(4.5 + 3.25 * t_index + f_index, 2),
            })  # fmt: skip
    return items


def _orders(seed: int = 7) -> list[dict[str, object]]:
    """Orders of 40 customers: mostly from their family, now and then from another."""
    rng = random.Random(seed)
    items = _catalogue()
    families = list(FAMILIES)
    orders = []
    number = 1000
    for c in range(40):
        family = families[c % 4]
        own = [i for i in items if i["family"] == family]
        city, country = CITIES[c % len(CITIES)]
        for _ in range(rng.randint(3, 5)):
            number += 1
            when = START + timedelta(days=rng.randint(0, 170), minutes=rng.randint(0, 600) + c)
            lines = rng.sample(own, rng.randint(1, 3))
            if rng.random() < 0.2:
                lines.append(rng.choice([i for i in items if i["family"] != family]))
            orders.append({
                "number": number, "customer": c, "email": f"  Customer{c}@Example.com ",
                "when": when, "city": city, "country": country,
                "lines": [(i, rng.randint(1, 3)) for i in lines],
            })  # fmt: skip
    orders.sort(key=lambda o: o["when"])  # type: ignore[arg-type, return-value]
    return orders


SHOPIFY_HEADER = [
    "Name",
    "Email",
    "Financial Status",
    "Paid at",
    "Fulfillment Status",
    "Fulfilled at",
    "Accepts Marketing",
    "Currency",
    "Subtotal",
    "Shipping",
    "Taxes",
    "Total",
    "Discount Code",
    "Discount Amount",
    "Shipping Method",
    "Created at",
    "Lineitem quantity",
    "Lineitem name",
    "Lineitem price",
    "Lineitem compare at price",
    "Lineitem sku",
    "Lineitem requires shipping",
    "Lineitem taxable",
    "Lineitem fulfillment status",
    "Billing Name",
    "Billing Street",
    "Billing Address1",
    "Billing Address2",
    "Billing Company",
    "Billing City",
    "Billing Zip",
    "Billing Province",
    "Billing Country",
    "Billing Phone",
    "Shipping Name",
    "Shipping Street",
    "Shipping Address1",
    "Shipping Address2",
    "Shipping Company",
    "Shipping City",
    "Shipping Zip",
    "Shipping Province",
    "Shipping Country",
    "Shipping Phone",
    "Notes",
    "Note Attributes",
    "Cancelled at",
    "Payment Method",
    "Payment Reference",
    "Refunded Amount",
    "Vendor",
    "Outstanding Balance",
    "Employee",
    "Location",
    "Device ID",
    "Id",
    "Tags",
    "Risk Level",
    "Source",
    "Lineitem discount",
    "Tax 1 Name",
    "Tax 1 Value",
    "Phone",
    "Receipt Number",
    "Duties",
    "Billing Province Name",
    "Shipping Province Name",
    "Payment ID",
    "Payment Terms Name",
    "Next Payment Due At",
    "Payment References",
]


def write_shopify_orders(path: Path) -> Path:
    """Shopify's orders export: one row per line item, order fields on the first row only."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, SHOPIFY_HEADER)
        writer.writeheader()
        for order in _orders():
            subtotal = sum(i["price"] * q for i, q in order["lines"])  # type: ignore[misc]
            stamp = order["when"].strftime("%Y-%m-%d %H:%M:%S +0100")  # type: ignore[attr-defined]
            for n, (item, quantity) in enumerate(order["lines"]):  # type: ignore[arg-type]
                row = {
                    "Name": f"#{order['number']}", "Email": order["email"],
                    "Lineitem quantity": quantity, "Lineitem name": item["title"],
                    "Lineitem price": f"{item['price']:.2f}", "Lineitem sku": item["sku"],
                    "Lineitem requires shipping": "true", "Lineitem taxable": "true",
                    "Lineitem fulfillment status": "fulfilled", "Vendor": item["vendor"],
                    "Lineitem discount": "0.00",
                }  # fmt: skip
                if n == 0:
                    row |= {
                        "Financial Status": "paid", "Paid at": stamp, "Currency": "EUR",
                        "Subtotal": f"{subtotal:.2f}", "Shipping": "0.00", "Taxes": "0.00",
                        "Total": f"{subtotal:.2f}", "Created at": stamp,
                        "Billing Name": f"Customer {order['customer']}",
                        "Billing City": order["city"], "Billing Country": order["country"],
                        "Id": 5000000 + int(order["number"]), "Source": "web",  # type: ignore[call-overload]
                    }  # fmt: skip
                writer.writerow(row)
    return path


WOO_HEADER = [
    "order_id",
    "order_number",
    "order_date",
    "status",
    "shipping_total",
    "shipping_tax_total",
    "fee_total",
    "fee_tax_total",
    "tax_total",
    "cart_discount",
    "order_discount",
    "discount_total",
    "order_total",
    "order_currency",
    "payment_method",
    "shipping_method",
    "customer_id",
    "billing_first_name",
    "billing_last_name",
    "billing_company",
    "billing_email",
    "billing_phone",
    "billing_address_1",
    "billing_address_2",
    "billing_postcode",
    "billing_city",
    "billing_state",
    "billing_country",
    "customer_note",
    "item_id",
    "item_product_id",
    "item_name",
    "item_sku",
    "item_quantity",
    "item_subtotal",
    "item_subtotal_tax",
    "item_total",
    "item_total_tax",
    "item_refunded",
    "item_refunded_qty",
    "item_meta",
]


def write_woocommerce_orders(path: Path) -> Path:
    """Customer/Order/Coupon Export, "Default - One Row per Item": order fields on every row."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, WOO_HEADER)
        writer.writeheader()
        line = 0
        for order in _orders(seed=11):
            total = sum(i["price"] * q for i, q in order["lines"])  # type: ignore[misc]
            for item, quantity in order["lines"]:  # type: ignore[attr-defined]
                line += 1
                subtotal = item["price"] * quantity
                writer.writerow({
                    "order_id": order["number"], "order_number": order["number"],
                    "order_date": order["when"].strftime("%Y-%m-%d %H:%M:%S"),  # type: ignore[attr-defined]
                    "status": "completed", "order_total": f"{total:.2f}",
                    "order_currency": "EUR", "customer_id": 10 + int(order["customer"]),  # type: ignore[call-overload]
                    "billing_email": str(order["email"]).strip().lower(),
                    "billing_city": order["city"], "billing_country": order["country"],
                    "item_id": line, "item_product_id": item["product_id"],
                    "item_name": item["title"], "item_sku": item["sku"],
                    "item_quantity": quantity, "item_subtotal": f"{subtotal:.2f}",
                    "item_total": f"{subtotal:.2f}", "item_refunded": "0.00",
                    "item_refunded_qty": 0,
                })  # fmt: skip
    return path


def write_ga4_events(path: Path) -> Path:
    """GA4's BigQuery export as JSON lines: views and carts before each purchase, plus noise."""
    with open(path, "w", encoding="utf-8") as handle:
        for order in _orders(seed=13):
            user = f"{order['customer']}.1700000000"
            geo = {"city": order["city"], "country": order["country"]}
            when = order["when"]

            def emit(
                name: str,
                at: datetime,
                items: list[dict[str, object]],
                user: str = user,
                geo: dict[str, object] = geo,
                **extra: object,
            ) -> None:
                micros = int((at - datetime(1970, 1, 1)).total_seconds() * 1_000_000)
                record = {"event_date": at.strftime("%Y%m%d"), "event_timestamp": str(micros),
                          "event_name": name, "user_pseudo_id": user, "geo": geo,
                          "items": items, **extra}  # fmt: skip
                handle.write(json.dumps(record) + "\n")

            ga_items = [
                {"item_id": i["sku"], "item_name": i["title"], "item_brand": i["vendor"],
                 "item_category": "Shop", "item_category2": i["family"],
                 "item_category3": "(not set)", "price": i["price"], "quantity": q}
                for i, q in order["lines"]  # type: ignore[attr-defined]
            ]  # fmt: skip
            emit("page_view", when - timedelta(minutes=9), [])  # type: ignore[operator]
            for k, item in enumerate(ga_items):
                emit("view_item", when - timedelta(minutes=8 - k), [item])  # type: ignore[operator]
                emit("add_to_cart", when - timedelta(minutes=4 - k / 10), [item])  # type: ignore[operator]
            emit(
                "purchase",
                when,
                ga_items,  # type: ignore[arg-type]
                ecommerce={"transaction_id": f"T{order['number']}", "unique_items": len(ga_items)},
            )
    return path
