"""What every stage shares: the corpus's frozen dataclasses (`types`), errors a user can act on,
tokens and sentence spans (`text`), evidence tiers, the medication lexicon, defaults with their
reasons, the settings read from the environment (`settings`), and progress lines. Imports nothing from the rest of followup."""
