#!/bin/sh
# Creates Landform's plan bucket on the compose file's S3 server and turns
# its versioning on; run once by the s3-init service before landform starts.
# Idempotent: a bucket that exists already is left as it is (versioning is
# switched on again, which changes nothing).
#
# It signs its requests with curl's --aws-sigv4 (curl >= 7.75; the landform
# image's Debian curl is 7.88), so the stack needs no S3 client image.
#
# Environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, and optionally
# S3_ENDPOINT (http://s3:7070), LANDFORM_PLAN_BUCKET (landform-plans),
# AWS_REGION (us-east-1).
set -eu

endpoint=${S3_ENDPOINT:-http://s3:7070}
bucket=${LANDFORM_PLAN_BUCKET:-landform-plans}
region=${AWS_REGION:-us-east-1}
out=$(mktemp)
trap 'rm -f "$out"' EXIT

# s3 METHOD PATH [BODY]: one signed request; prints the HTTP status.
s3() {
	set -- "$1" "$2" "${3:-}"
	hash=$(printf %s "$3" | sha256sum | cut -d' ' -f1)
	curl -sS -o "$out" -w '%{http_code}' \
		--aws-sigv4 "aws:amz:$region:s3" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
		-H "x-amz-content-sha256: $hash" -X "$1" --data-binary "$3" "$endpoint$2"
}

code=$(s3 PUT "/$bucket")
case $code in
200) echo "s3-init: created bucket $bucket" ;;
409) echo "s3-init: bucket $bucket exists" ;; # BucketAlreadyOwnedByYou
*)
	echo "s3-init: creating bucket $bucket at $endpoint: HTTP $code" >&2
	cat "$out" >&2
	exit 1
	;;
esac

versioning='<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Enabled</Status></VersioningConfiguration>'
# "versioning=", not "versioning": curl 7.88 signs a bare query key without
# the "=" that SigV4's canonical query string has.
code=$(s3 PUT "/$bucket?versioning=" "$versioning")
if [ "$code" != 200 ]; then
	echo "s3-init: enabling versioning of $bucket: HTTP $code" >&2
	cat "$out" >&2
	exit 1
fi
echo "s3-init: versioning of $bucket enabled"
