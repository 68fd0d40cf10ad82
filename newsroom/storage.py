"""Where media files (image originals and renditions) live: the local disk, or an S3 bucket.

Everything that reads or writes media goes through Django's storage API (`default_storage`, a
file field's `.storage`), never through paths on disk, so setting MEDIA_S3_BUCKET is all it takes
to move media to S3-compatible storage (AWS S3, MinIO, Backblaze B2, DigitalOcean Spaces, R2…).

The settings module calls `s3_storage_options()` and `media_origins()` only when MEDIA_S3_BUCKET
is set; the storage class below is imported by Django when the storage is first used.
"""

import logging
from urllib.parse import urlsplit

from botocore.exceptions import NoCredentialsError
from storages.backends.s3 import S3Storage
from storages.utils import clean_name

logger = logging.getLogger(__name__)

#: Stored names never change meaning (originals are named by the hash of their bytes, renditions
#: by the hash of their recipe), so browsers and CDNs may keep them for good.
CACHE_CONTROL = "public, max-age=31536000, immutable"


def _env(environ, name):
    return environ.get(name, "").strip()


def s3_storage_options(environ):
    """The OPTIONS of the S3 media storage, from MEDIA_S3_BUCKET and the usual AWS_* variables.

    Credentials are not copied here (they would show in settings dumps): boto3 reads
    AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY from the environment itself, or uses an instance
    role or ~/.aws/credentials. Nothing here needs the network, so a missing or wrong value shows
    when media is used, not at start-up.
    """
    custom_domain = _env(environ, "AWS_S3_CUSTOM_DOMAIN") or None
    # Signed URLs work with private buckets; URLs on a CDN domain are plain (the CDN reads the
    # bucket with its own access). AWS_QUERYSTRING_AUTH=0 gives plain URLs from a public bucket.
    querystring_auth = _env(environ, "AWS_QUERYSTRING_AUTH").lower()
    return {
        "bucket_name": _env(environ, "MEDIA_S3_BUCKET"),
        "endpoint_url": _env(environ, "AWS_S3_ENDPOINT_URL") or None,
        "region_name": _env(environ, "AWS_S3_REGION_NAME") or None,
        "custom_domain": custom_domain,
        # Empty means unset, as for every variable; "/" stores at the bucket's root.
        "location": (_env(environ, "AWS_LOCATION") or "media").strip("/"),
        "querystring_auth": (
            querystring_auth in {"1", "true", "yes", "on"}
            if querystring_auth
            else custom_domain is None
        ),
        # botocore would still sign URLs with the legacy SigV2 in us-east-1, which newer buckets
        # and providers (Cloudflare R2, for one) refuse.
        "signature_version": "s3v4",
        # Two different pictures never share a name; one uploaded twice is reused on purpose
        # (newsroom.images.use_stored_copy), so a name that exists is never overwritten.
        "file_overwrite": False,
        "object_parameters": {"CacheControl": CACHE_CONTROL},
    }


def media_origins(options, environ=None):
    """The origins that media URLs of an S3 storage with `options` start with (for the CSP).

    The same rules as django-storages and botocore follow when they build a URL:
    - a custom (CDN) domain: `https://<domain>`;
    - an endpoint URL (S3-compatible providers, MinIO, moto in tests): botocore addresses buckets
      path-style there, `http://127.0.0.1:9000/<bucket>/<key>`, so the endpoint's origin;
    - AWS itself: `https://<bucket>.s3.amazonaws.com`, and the regional host that S3 redirects a
      new bucket outside us-east-1 to, `https://<bucket>.s3.<region>.amazonaws.com`. A bucket
      name with dots cannot be a TLS host name, so botocore uses the path-style hosts instead.
    """
    environ = {} if environ is None else environ
    if domain := options.get("custom_domain"):
        # django-storages writes "https://<custom_domain>/<key>": the domain may carry a path.
        return [f"https://{domain.split('/', 1)[0]}"]
    if endpoint := options.get("endpoint_url"):
        parts = urlsplit(endpoint)
        return [f"{parts.scheme.lower()}://{parts.netloc.rpartition('@')[2].lower()}"]
    bucket = options["bucket_name"]
    # boto3 falls back to AWS_DEFAULT_REGION when no region is configured.
    region = options.get("region_name") or _env(environ, "AWS_DEFAULT_REGION")
    prefix = "" if "." in bucket else f"{bucket}."
    hosts = [f"{prefix}s3.amazonaws.com"]
    if region:
        hosts.append(f"{prefix}s3.{region}.amazonaws.com")
    return [f"https://{host}" for host in hosts]


class MediaStorage(S3Storage):
    """django-storages' S3Storage, except that pages survive missing credentials.

    Signing a URL needs credentials but no network. Without them S3Storage raises on every
    picture of every page; this storage logs the problem and hands out unsigned URLs instead,
    which a public bucket serves and a private one refuses: broken pictures, not broken pages.
    Uploads still fail, with a form error (newsroom.images.check_storage).
    """

    _warned_about_credentials = False

    def url(self, name, parameters=None, expire=None, http_method=None):
        try:
            return super().url(name, parameters, expire, http_method)
        except NoCredentialsError:
            if not MediaStorage._warned_about_credentials:
                MediaStorage._warned_about_credentials = True
                logger.error(
                    "No AWS credentials for the media bucket %r: pictures get unsigned URLs, "
                    "which a private bucket refuses, and uploads fail. Set AWS_ACCESS_KEY_ID and "
                    "AWS_SECRET_ACCESS_KEY (or give the server an instance role).",
                    self.bucket_name,
                )
            params = {**(parameters or {}), "Bucket": self.bucket_name}
            params["Key"] = self._normalize_name(clean_name(name))
            return self.unsigned_connection.meta.client.generate_presigned_url(
                "get_object", Params=params, ExpiresIn=expire or self.querystring_expire
            )
