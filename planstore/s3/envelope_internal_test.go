package s3

import (
	"bytes"
	"testing"

	"github.com/landform/landform"
)

// BenchmarkSealOpen is the client-side encryption's own cost: sealing and
// opening an artifact with a 1 MiB plan file, without S3.
func BenchmarkSealOpen(b *testing.B) {
	for _, tc := range []struct {
		name string
		key  []byte
	}{{"unencrypted", nil}, {"encrypted", bytes.Repeat([]byte{1}, KeySize)}} {
		b.Run(tc.name, func(b *testing.B) {
			s := newSealer(tc.key, nil)
			a := &landform.PlanArtifact{Plan: bytes.Repeat([]byte{0xa5}, 1<<20), JSON: []byte(`{}`), Text: "Plan: 1 to add."}
			b.SetBytes(int64(len(a.Plan)))
			for b.Loop() {
				obj, _, err := s.seal("42", a)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := s.open("42", obj); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// The envelope round-trips every part, empty ones included, in both modes.
func TestSealOpen(t *testing.T) {
	for _, key := range [][]byte{nil, bytes.Repeat([]byte{7}, KeySize)} {
		s := newSealer(key, nil)
		for _, a := range []*landform.PlanArtifact{
			{},
			{Plan: []byte("p")},
			{JSON: []byte("{}")},
			{Text: "t"},
			{Plan: []byte("plan"), JSON: []byte(`{"a":1}`), Text: "text"},
		} {
			obj, sum, err := s.seal("run-1", a)
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.open("run-1", obj)
			if err != nil {
				t.Fatalf("open (key %v): %v", key != nil, err)
			}
			if !bytes.Equal(got.Plan, a.Plan) || !bytes.Equal(got.JSON, a.JSON) || got.Text != a.Text || got.SHA256 != sum {
				t.Errorf("open(seal(%+v)) = %+v", a, got)
			}
		}
	}
}
