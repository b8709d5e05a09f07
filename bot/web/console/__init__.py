"""The staff console (/console): support staff watch the handoff queue, take a conversation
over from the bot and hand it back, decide refunds waiting for approval, and see what is
out of stock and who waits for it.

An adapter: accounts, sessions, tickets and refunds are catalog services
(catalog.services.staff, .handoff, .refunds), what the pages list comes from read models
(catalog.views), the words from catalog.wording.console. Modules here: `routes` (the
FastAPI router), `transcript` (reading Rasa's tracker), `replies` (staff messages to the
customer's channel), `accounts_cli` (create-staff).
"""
