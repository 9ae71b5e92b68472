"""The HTTP service: the FastAPI app (`app`) composed of its routes by concern (`routes/`), the request
dependencies (`dependencies`), middleware and exception handlers (`middleware`), what a service is given
(`settings`), its request and response models (`schemas`), the OpenAI-compatible chat conversion
(`chat`), the live build swapped on a new `index/CURRENT` (`live`) and the follow-up page (`web/`). May
import every stage below it, never `evaluate` or the CLI."""
