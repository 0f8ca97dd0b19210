"""Why an object was not copied (the runner records these as failures or
counts them, see ``runner``)."""


class CopyError(Exception):
    """The object was not copied; ``permanent`` when trying again cannot
    help until the source object changes."""
    permanent = False


class Unsupported(CopyError):
    permanent = True


class SourceChanged(CopyError):
    """The source object changed after it was listed (or is not served as
    listed): retried soon, from a fresh listing."""


class Gone(SourceChanged):
    """Listed, but the source answers 404: deleted since, or expired and
    not reaped yet, or a listing entry without an object.  Nothing to
    copy; the next listings tell."""


class Expired(Gone):
    """The source object's X-Delete-At passed: it is gone at the source."""


class LocalNewer(CopyError):
    """A client wrote the object locally after it was listed: Swift kept
    the newer local object (the proxy answered 202)."""
