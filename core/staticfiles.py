"""Static files under names that change with their content, whatever DEBUG says."""

from whitenoise.storage import CompressedManifestStaticFilesStorage


class ManifestStaticFilesStorage(CompressedManifestStaticFilesStorage):
    """whitenoise's compressed manifest storage, whose URLs carry the content hash even with DEBUG on.

    Django's manifest storage gives the plain names when DEBUG is on, and whitenoise caches only
    hashed names for long. The first-look server (scripts/run) runs with DEBUG and collected files:
    with the hashed names, a browser fetches Bootstrap once, compressed, and never asks again.
    """

    def url(self, name, force=False):
        return super().url(name, force=True)
