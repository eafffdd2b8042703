package s3

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/landform/landform"
	"github.com/landform/landform/planstore"
)

// The envelope's header (see the package documentation).
const (
	magic         = "LFPLAN"
	formatVersion = 1
	modeNone      = 0
	modeAESGCM    = 1
	nonceSize     = 12
	headerSize    = len(magic) + 1 + 1 + keyIDSize + nonceSize // 28
)

// partPlan names the plan file in the manifest (planstore.Manifest, as
// planstore/fs writes it).
const partPlan = planstore.PartPlan

// sealer seals payloads for writing and opens objects on reading. A nil
// key means the store is unencrypted.
type sealer struct {
	key   []byte                     // writes; nil when unencrypted
	keyID [keyIDSize]byte            // of key
	keys  map[[keyIDSize]byte][]byte // reads: key and previous keys by ID
}

func newSealer(key []byte, previous [][]byte) *sealer {
	if key == nil {
		return &sealer{}
	}
	s := &sealer{key: key, keyID: keyID(key), keys: make(map[[keyIDSize]byte][]byte, 1+len(previous))}
	for _, k := range previous {
		s.keys[keyID(k)] = k
	}
	s.keys[s.keyID] = key
	return s
}

// seal returns the object that stores a under runID, and the manifest's
// digest of the plan file.
func (s *sealer) seal(runID string, a *landform.PlanArtifact) ([]byte, string, error) {
	parts := planstore.PartsOf(a)
	m := planstore.NewManifest(runID, a)
	rawManifest, err := json.Marshal(m)
	if err != nil {
		return nil, "", fmt.Errorf("encoding manifest of run %s: %w", runID, err)
	}
	// One buffer: the header, then the payload, sealed in place with room
	// for GCM's tag.
	payloadSize := 4 + len(rawManifest) + len(parts[0]) + len(parts[1]) + len(parts[2])
	obj := make([]byte, headerSize, headerSize+payloadSize+gcmTagSize)
	copy(obj, magic)
	obj[len(magic)] = formatVersion
	obj = binary.BigEndian.AppendUint32(obj, uint32(len(rawManifest)))
	obj = append(obj, rawManifest...)
	for _, p := range parts {
		obj = append(obj, p...)
	}
	header, payload := obj[:headerSize], obj[headerSize:]
	if s.key == nil {
		header[len(magic)+1] = modeNone
		return obj, m.Parts[partPlan].SHA256, nil
	}
	header[len(magic)+1] = modeAESGCM
	copy(header[8:8+keyIDSize], s.keyID[:])
	nonce := header[8+keyIDSize : headerSize]
	rand.Read(nonce) // never fails (crypto/rand)
	gcm, err := newGCM(s.key)
	if err != nil {
		return nil, "", err
	}
	return gcm.Seal(header, nonce, payload, aad(header, runID)), m.Parts[partPlan].SHA256, nil
}

// gcmTagSize is the size of the tag GCM appends.
const gcmTagSize = 16

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("plan encryption key: %w", err)
	}
	return cipher.NewGCM(block)
}

// aad is the additional authenticated data of an object: its header and the
// run ID it is stored under.
func aad(header []byte, runID string) []byte {
	return append(bytes.Clone(header[:headerSize]), runID...)
}

// open verifies obj, stored under runID, and returns its artifact. Every
// failure is an error for corrupt() to wrap: the text says what failed.
func (s *sealer) open(runID string, obj []byte) (*landform.PlanArtifact, error) {
	if len(obj) < headerSize || string(obj[:len(magic)]) != magic {
		return nil, errors.New("not a Landform plan object (no LFPLAN header)")
	}
	if v := obj[len(magic)]; v != formatVersion {
		return nil, fmt.Errorf("format version %d, this Landform reads %d", v, formatVersion)
	}
	header, body := obj[:headerSize], obj[headerSize:]
	var payload []byte
	switch mode := header[len(magic)+1]; {
	case mode == modeNone && s.key == nil:
		payload = body
	case mode == modeNone:
		return nil, errors.New("stored unencrypted, but this store has an encryption key and reads only encrypted plans")
	case mode == modeAESGCM && s.key == nil:
		return nil, errors.New("encrypted, but this store has no encryption key")
	case mode == modeAESGCM:
		var id [keyIDSize]byte
		copy(id[:], header[8:8+keyIDSize])
		key, ok := s.keys[id]
		if !ok {
			return nil, fmt.Errorf("encrypted under another key (key ID %x; this store has %s)", id, s.keyIDs())
		}
		gcm, err := newGCM(key)
		if err != nil {
			return nil, err
		}
		// In place: the payload overwrites the ciphertext.
		payload, err = gcm.Open(body[:0], header[8+keyIDSize:], body, aad(header, runID))
		if err != nil {
			return nil, fmt.Errorf("decryption failed (key ID %x): the object was altered, or stored for another run", id)
		}
	default:
		return nil, fmt.Errorf("unknown mode %d", mode)
	}
	return parsePayload(runID, payload)
}

// keyIDs lists the IDs of the keys the store reads with, for messages.
func (s *sealer) keyIDs() string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "key ID %x", s.keyID)
	for id := range s.keys {
		if id != s.keyID {
			fmt.Fprintf(&b, ", previous key ID %x", id)
		}
	}
	return b.String()
}

// parsePayload splits a payload into the manifest and the parts and verifies
// each part against the manifest.
func parsePayload(runID string, payload []byte) (*landform.PlanArtifact, error) {
	if len(payload) < 4 {
		return nil, errors.New("payload truncated")
	}
	n := binary.BigEndian.Uint32(payload)
	rest := payload[4:]
	if uint64(n) > uint64(len(rest)) {
		return nil, errors.New("manifest truncated")
	}
	m, err := planstore.ParseManifest(rest[:n], runID)
	if err != nil {
		return nil, fmt.Errorf("manifest: %v", err)
	}
	rest = rest[n:]
	var parts [3][]byte
	for i, name := range planstore.Parts {
		want := m.Parts[name]
		if want.Size > int64(len(rest)) {
			return nil, fmt.Errorf("%s: truncated: %d bytes left, manifest says %d", name, len(rest), want.Size)
		}
		b := rest[:want.Size:want.Size]
		rest = rest[want.Size:]
		if got := planstore.DigestOf(b); got.SHA256 != want.SHA256 {
			return nil, fmt.Errorf("%s: sha256 %s, manifest says %s", name, got.SHA256, want.SHA256)
		}
		parts[i] = b
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%d bytes after the parts", len(rest))
	}
	return &landform.PlanArtifact{
		Plan:   parts[0],
		JSON:   parts[1],
		Text:   string(parts[2]),
		SHA256: m.Parts[partPlan].SHA256,
	}, nil
}
