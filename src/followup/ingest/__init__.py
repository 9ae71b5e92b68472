"""The import side: a corpus folder read into articles and documents (`corpus`, `structure`,
`citations`), documents cut into chunks (`chunking`), and `followup add`, which writes an article
folder from a publisher's saved page and reference files (`formats/`). May import `core` only; the
answer path never imports it."""
