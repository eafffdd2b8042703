package s3

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strings"

	"github.com/landform/landform"
)

// KeySize is the size of an encryption key: AES-256.
const KeySize = 32

// ParseKey decodes an encryption key as a key file or environment variable
// holds it: 32 bytes in standard base64 (with padding), surrounding
// whitespace ignored. Returns EINVALID, without echoing the text, for
// anything else.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, landform.Errorf(landform.EINVALID, "plan encryption key is empty: want %d random bytes in standard base64 (landform can generate one)", KeySize)
	}
	key, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, landform.Errorf(landform.EINVALID, "plan encryption key is not standard base64: want %d random bytes in standard base64", KeySize)
	}
	if len(key) != KeySize {
		return nil, landform.Errorf(landform.EINVALID, "plan encryption key is %d bytes, want %d (standard base64 of %d random bytes)", len(key), KeySize, KeySize)
	}
	return key, nil
}

// NewKey returns a new random encryption key in the form ParseKey reads.
func NewKey() string {
	key := make([]byte, KeySize)
	rand.Read(key) // never fails (crypto/rand)
	return base64.StdEncoding.EncodeToString(key)
}

// keyIDSize is the size of the key ID in an object's header.
const keyIDSize = 8

// keyID names a key in an object's header without revealing it: the first
// bytes of an HMAC of a fixed label under the key.
func keyID(key []byte) [keyIDSize]byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("landform plan key id"))
	var id [keyIDSize]byte
	copy(id[:], m.Sum(nil))
	return id
}
