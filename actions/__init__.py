"""Custom actions: thin adapters from a Rasa tracker to the catalog services and back."""
