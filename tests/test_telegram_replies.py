"""Rasa replies as Telegram messages: escaping, keyboards within Telegram's limits, photos."""
from __future__ import annotations

from bot.telegram.replies import ButtonPayloads, render
from tests.fake_telegram import FakeTelegram


def test_text_is_escaped_for_markdown_v2_and_reads_the_same():
    text = "Only 2 left of the Trail Runner [2.0] (EU 42_5) - $89.99! *Hurry*"
    [out] = render([{"text": text}], ButtonPayloads())
    assert FakeTelegram._markdown_problem({"parse_mode": "MarkdownV2", "text": out.markdown}) is None
    assert FakeTelegram._markdown_problem({"parse_mode": "MarkdownV2", "text": text}) is not None
    assert out.text == text


def test_long_button_payloads_fit_telegrams_64_bytes_and_come_back():
    payloads = ButtonPayloads()
    long = '/choose_substitute{"sku": "KITCHEN-ESPRESSO-MACHINE-DELUXE-000123-BLK"}'
    short = "/affirm"
    [out] = render([{"text": "Pick one", "buttons": [{"title": "Deluxe", "payload": long},
                                                     {"title": "Yes", "payload": short}]}], payloads)
    keyboard = out.keyboard()
    data = [row[0].callback_data for row in keyboard.inline_keyboard]
    assert all(len(d.encode()) <= 64 for d in data)
    assert data[1] == short and payloads.decode(data[0]) == long
    assert ButtonPayloads().decode(data[0]) is None  # unknown key (e.g. after a restart): expired, not guessed


def test_image_after_text_becomes_a_captioned_photo_and_long_text_is_split():
    out = render([{"text": "The Trail Runner"}, {"image": "https://shop.example/img/1.jpg"},
                  {"text": "x" * 5000}], ButtonPayloads())
    assert out[0].photo == "https://shop.example/img/1.jpg" and out[0].text == "The Trail Runner"
    assert len(out) == 4 and all(len(o.markdown) <= 4096 for o in out)
    card = render([{"custom": {"type": "product", "title": "Trail Runner", "price": "89.99", "currency": "USD",
                               "stock": "3 in stock", "image_url": "https://shop.example/img/2.jpg"}}], ButtonPayloads())
    assert card[0].photo.endswith("2.jpg") and "89.99 USD" in card[0].text and "3 in stock" in card[0].text
