"""The staff console (/console): support staff watch the handoff queue, take a conversation
over from the bot and hand it back, decide refunds waiting for approval, and see what is
out of stock and who waits for it.

Modules: `accounts` (passwords, sign-in with rate limiting), `accounts_cli` (create-staff),
`sessions` (server-side sessions, CSRF), `rasa` (Rasa's HTTP API), `queue` (tickets and who
took them), `conversation` (transcript and the customer's side), `replies` (staff messages
to the customer's channel), `refunds`, `stock`, and `routes` (the FastAPI router).
"""
