"""The web server: the demo shop with the chat widget, and the staff console (/console)."""
