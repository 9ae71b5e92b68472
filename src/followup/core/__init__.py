"""What every stage shares: the corpus's frozen dataclasses and evidence tiers (`types`), errors a user
can act on (`errors`), tokens, sentence spans and the medication and clinical-facet lexicons
(`words`), every environment variable, default path and default with its reason, and the closed sets
(`settings`), corpus files, their fingerprint, `atomic_path` and array offsets (`storage`), progress
lines and how a command shows the stages' status lines (`progress`, `status_lines`). Imports nothing
from the rest of followup."""
