"""What every stage shares: the corpus's frozen dataclasses (`types`), errors a user can act on,
tokens and sentence spans (`text`), evidence tiers, the medication lexicon, defaults with their
reasons and the closed sets (`defaults`), every environment variable and default path (`settings`),
the corpus fingerprint (`files`) and progress lines. Imports nothing from the rest of followup."""
