"""Read models: the queries behind pages and panels that show many things at once (the
staff console's queue, a customer's side of a conversation, the stock panel). They return
plain data; the adapters word it (catalog.wording) and draw it.
"""
