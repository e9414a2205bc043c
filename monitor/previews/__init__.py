"""Document previews: what a filing says, without opening PACER.

When a filing's PDF is free (a RECAP copy on CourtListener's storage), the monitor reads it after the
alert has gone out and follows the alert with a preview: the page count, the first lines of text and
a thumbnail of the first page. Slack gets the thumbnail and the excerpt in the case's thread, email
the thumbnail inline, the webhook, console and Apprise notifiers and `monitor check --json` the page
count and excerpt. The preview is an `updated` change of the same entry, recorded only after the
alert was delivered, so it never delays the alert and is never sent twice.

- `settings`: the `previews:` configuration block (enabled, max_bytes, max_pages, timeout, hosts, keep);
- `worker`: finds filings with a free PDF, reads them, records the previews (the daemon's background
  task, and `monitor check` after its deliveries);
- `pdf`: reads one PDF with PDFium in a bounded child process (hostile files are skipped, with a reason);
- `stage`: wakes the worker when a check records a filing.

Each notifier opts out with `previews: false`. Only `previews.hosts` (default storage.courtlistener.com)
are fetched from, never PACER (it charges per page), never with a token, never from the API budget.
"""

# The fields a preview adds to an entry (and the only fields a preview change changes).
PREVIEW_FIELDS = ("preview_pages", "preview_excerpt", "preview_thumbnail", "preview_url")


def is_preview(change: object) -> bool:
    """True for a preview change: an update whose changed fields are all preview fields."""
    changed = getattr(change, "changed_fields", ())
    return (
        getattr(change, "kind", None) == "updated"
        and bool(changed)
        and all(name.removeprefix("fields.") in PREVIEW_FIELDS for name in changed)
    )
