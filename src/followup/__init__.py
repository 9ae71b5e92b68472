"""followup: extractive, cited answers to follow-up questions about a medical article."""

__version__ = "0.1.0"
