// Package planstore holds what every plan artifact store shares: the
// sentinel errors callers branch on. The backends live in subpackages
// (planstore/fs for a local directory) and all pass the suite in
// planstore/planstoretest.
//
// A backend keeps, per run ID, the binary plan file, its `terraform show
// -json` output, its plain-text rendering and their sha256 digests. Put
// computes and records the digests; Get verifies every part against them and
// never returns data that fails verification.
package planstore

import "errors"

// ErrCorrupt means a stored plan artifact failed verification on read: a part
// or the manifest is missing, unreadable or does not match its recorded
// sha256. Backends wrap it with the run ID and the part; callers use
// errors.Is.
var ErrCorrupt = errors.New("plan artifact is corrupt")
