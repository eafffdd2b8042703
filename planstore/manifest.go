package planstore

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/landform/landform"
)

// The parts of a plan artifact, by the names manifests give them (and
// planstore/fs its files).
const (
	PartPlan = "plan.tfplan"
	PartJSON = "plan.json"
	PartText = "plan.txt"
)

// Parts are the part names in the order backends store them.
var Parts = []string{PartPlan, PartJSON, PartText}

// ManifestVersion is the manifest format the backends write and read.
const ManifestVersion = 1

// Manifest records the digest of each part of one run's artifact: every
// backend writes one and verifies each part against it on read.
type Manifest struct {
	Version int               `json:"version"`
	RunID   string            `json:"run_id"`
	Parts   map[string]Digest `json:"parts"`
}

// Digest is a part's sha256 (hex) and size.
type Digest struct {
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}

// DigestOf returns b's digest.
func DigestOf(b []byte) Digest {
	sum := sha256.Sum256(b)
	return Digest{SHA256: hex.EncodeToString(sum[:]), Size: int64(len(b))}
}

// PartsOf returns a's parts in the order of Parts.
func PartsOf(a *landform.PlanArtifact) [][]byte {
	return [][]byte{a.Plan, a.JSON, []byte(a.Text)}
}

// NewManifest returns the manifest of a stored as runID's artifact.
func NewManifest(runID string, a *landform.PlanArtifact) Manifest {
	m := Manifest{Version: ManifestVersion, RunID: runID, Parts: make(map[string]Digest, len(Parts))}
	for i, p := range PartsOf(a) {
		m.Parts[Parts[i]] = DigestOf(p)
	}
	return m
}

// ParseManifest decodes a manifest strictly: unknown fields, trailing
// data, a foreign run ID, a missing or extra part and a malformed digest
// are all errors, so that damage anywhere in it is caught.
func ParseManifest(raw []byte, runID string) (*Manifest, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("decoding: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after the manifest")
	}
	if m.Version != ManifestVersion {
		return nil, fmt.Errorf("version %d, want %d", m.Version, ManifestVersion)
	}
	if m.RunID != runID {
		return nil, fmt.Errorf("manifest is for run %q", m.RunID)
	}
	if len(m.Parts) != len(Parts) {
		return nil, fmt.Errorf("lists %d parts, want %d", len(m.Parts), len(Parts))
	}
	for _, name := range Parts {
		d, ok := m.Parts[name]
		if !ok {
			return nil, fmt.Errorf("part %s not listed", name)
		}
		if !isSHA256Hex(d.SHA256) || d.Size < 0 {
			return nil, fmt.Errorf("malformed digest of %s", name)
		}
	}
	return &m, nil
}

func isSHA256Hex(s string) bool {
	if len(s) != 2*sha256.Size {
		return false
	}
	for _, c := range []byte(s) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
