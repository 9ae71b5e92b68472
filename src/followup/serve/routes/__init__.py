"""The service's routes by concern; serve/app.py includes each module's `router`."""
