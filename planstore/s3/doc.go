// Package s3 keeps plan artifacts in an S3 bucket (AWS S3 or a compatible
// server: MinIO, versitygw, …), the plan store of Landform's replicas. It
// keeps the contract of planstore/fs and passes planstore/planstoretest.
// Import it as plans3 (the SDK's package is also called s3).
//
// # Layout
//
// One object per run:
//
//	<Prefix>runs/<runID>.lfplan
//
// Prefix is used as given, with a "/" appended when it lacks one, so two
// stores on the prefixes "a" and "ab" never see each other's objects.
//
// # The object
//
// An object is an envelope: a 28-byte header, then the payload, which is
// sealed with AES-256-GCM unless the store was made with Unencrypted:
//
//	offset  size  field
//	0       6     magic "LFPLAN"
//	6       1     format version (1)
//	7       1     mode: 1 = AES-256-GCM, 0 = unencrypted
//	8       8     key ID: the first 8 bytes of HMAC-SHA256(key, "landform plan key id"); zero when unencrypted
//	16      12    GCM nonce, random per object; zero when unencrypted
//	28      …     the sealed payload (ciphertext and 16-byte tag), or the payload itself
//
// The additional authenticated data of the seal is the header followed by
// the run ID, so an object copied or renamed to another run's key, or with
// any header byte changed, fails to open. The payload is a 4-byte big-endian
// length, a JSON manifest (format version, run ID, and the sha256 and size
// of each part, as planstore/fs writes), then the three parts back to back:
// the binary plan file, its `terraform show -json` output, its text.
//
// # The key
//
// Plan files hold secrets, so the store encrypts on the client: what S3
// holds is unreadable without the key. Options.Key is 32 bytes; in a file
// or an environment variable it is written as standard base64 (ParseKey
// reads it, NewKey makes one). A store without a key refuses to start unless
// Options.Unencrypted says so explicitly, and a store with a key refuses to
// read an unencrypted object (someone able to write to the bucket must not
// be able to plant a plan). Options.PreviousKeys decrypt objects written
// under earlier keys, so a key can be rotated without losing pending plans:
// the key ID in the header picks the key. Random 96-bit nonces keep one key
// safe for far more plans than a deployment makes (NIST's 2^32 bound).
//
// # Guarantees
//
//   - Put never overwrites: it sends If-None-Match: * (a conditional write,
//     honoured by AWS S3 since 2024, MinIO and versitygw), so of two
//     concurrent Puts of one run exactly one succeeds and the other gets
//     ECONFLICT. A server that ignores the header would let the second
//     overwrite the first; Landform's run IDs are unique and an approval is
//     bound to the plan's sha256, so apply would still refuse a plan that
//     changed under it.
//   - Get verifies before it returns: a missing object is ENOTFOUND; an
//     object that is not an envelope, was written under an unknown key,
//     fails to decrypt (wrong key, a changed byte, another run's object),
//     or whose parts do not match the manifest's sha256 is an error wrapping
//     planstore.ErrCorrupt that names the run. No data is returned with it.
//   - Delete removes the object and succeeds when there is none. In a
//     versioned bucket earlier versions stay (encrypted) until a lifecycle
//     rule removes them.
//   - HighestRunID lists the objects under the prefix (all pages).
//
// Server-side encryption is independent of the above and passed through to
// every PutObject: SSE.Kind "AES256" (SSE-S3), "aws:kms" or "aws:kms:dsse"
// with an optional SSE.KMSKeyID.
//
// # Credentials
//
// Unless Options.Client is given, New loads the standard AWS chain
// (config.LoadDefaultConfig: environment, shared config and credentials
// files and profiles, web identity, ECS and EC2 instance roles) and applies
// Region, Endpoint and PathStyle on top. New then asks for the bucket
// (HeadBucket), so a wrong name, endpoint or credentials fail at start, not
// at the first plan. The S3 permissions needed are
// s3:PutObject, s3:GetObject, s3:DeleteObject and s3:ListBucket on the
// prefix (and kms:GenerateDataKey/kms:Decrypt with SSE-KMS).
package s3
