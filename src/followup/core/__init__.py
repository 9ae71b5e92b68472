"""What every stage shares: the corpus's frozen dataclasses (`types`), errors a user can act on,
tokens and sentence spans (`text`), evidence tiers, the medication lexicon, defaults with their
reasons and the closed sets (`defaults`), every environment variable and default path (`settings`),
files (`files`: the corpus fingerprint, `atomic_path`), array offsets (`arrays`), progress lines and
how a command shows the stages' status lines (`status_lines`). Imports nothing from the rest of
followup."""
