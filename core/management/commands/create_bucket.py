"""manage.py create_bucket: the bucket of the private files (PRIVATE_STORAGE=s3), made if missing.

For a deployment that runs its own object store (docker-compose.yml's SeaweedFS): the migrate
service runs it before the web nodes start. Idempotent: a bucket that exists, the portal's or one
it may use, is left as it is. Blocks public access where the server supports it (AWS, MinIO); on
servers without that setting the bucket is private by default (no ACL is ever sent).
"""

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Create the private files' bucket (PRIVATE_STORAGE=s3) if it does not exist."

    def handle(self, *args, **options):
        if settings.PRIVATE_STORAGE != "s3":
            self.stdout.write("PRIVATE_STORAGE is not s3: the private files are kept on disk, no bucket needed.")
            return
        client = default_storage.connection.meta.client
        bucket = default_storage.bucket_name
        try:
            client.head_bucket(Bucket=bucket)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in {"404", "NoSuchBucket", "NotFound"}:
                raise CommandError(f"The bucket {bucket} cannot be used: {exc}") from None
        except BotoCoreError as exc:
            raise CommandError(f"The object store cannot be reached ({type(exc).__name__}): {exc}") from None
        else:
            self.stdout.write(f"The bucket {bucket} exists.")
            return
        try:
            client.create_bucket(Bucket=bucket)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in {"BucketAlreadyOwnedByYou"}:
                raise CommandError(f"The bucket {bucket} could not be made: {exc}") from None
        try:
            client.put_public_access_block(
                Bucket=bucket,
                PublicAccessBlockConfiguration={
                    "BlockPublicAcls": True,
                    "IgnorePublicAcls": True,
                    "BlockPublicPolicy": True,
                    "RestrictPublicBuckets": True,
                },
            )
        except ClientError:
            pass  # not every S3-compatible server has the setting; its buckets are private by default
        self.stdout.write(self.style.SUCCESS(f"Made the bucket {bucket}."))
