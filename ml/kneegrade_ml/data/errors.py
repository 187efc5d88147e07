"""The one exception raised for bad dataset folders and unreadable images."""


class DatasetError(ValueError):
    """A problem with the data on disk; the message always names the offending path."""
