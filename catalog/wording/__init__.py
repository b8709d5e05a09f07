"""The words people read, in one place: shoppers (chat answers, the shop's pages, Telegram,
queued notices), staff (the console) and merchants (the command line).

Services return outcomes (enums and data); the adapters turn them into sentences with the
functions here, so one situation is said the same way everywhere. Pure Python with no
dependencies beyond the domain's plain values: `errors` is also read by Rasa's process.
"""
