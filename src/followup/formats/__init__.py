"""Real formats a publisher has, read into the corpus format: PubMed records (pubmed.py) and DailyMed
drug labels (spl.py). `followup add` (to come) writes them into an article folder."""
