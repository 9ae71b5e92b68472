"""The HTTP service: the FastAPI app (`app`), its request and response models (`schemas`), the
OpenAI-compatible chat endpoint (`chat`), the live build swapped on a new `index/CURRENT` (`live`) and
the follow-up page (`web/`). May import every stage below it, never `evaluate` or the CLI."""
