package s3_test

import (
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/landform/landform/internal/s3test"
	planfs "github.com/landform/landform/planstore/fs"
	"github.com/landform/landform/planstore/planstoretest"
	plans3 "github.com/landform/landform/planstore/s3"
)

// BenchmarkPutGet stores and reads back an artifact with a 1 MiB plan file
// (random bytes, so incompressible) on versitygw, encrypted and not, and on
// planstore/fs in the same process, and logs each S3 figure's ratio to
// planstore/fs. versitygw runs on loopback with its posix backend on the same
// disk as planstore/fs, so the ratio is the cost of the S3 protocol, the
// server and the encryption, not of a network.
func BenchmarkPutGet(b *testing.B) {
	srv := s3test.Start(b)
	rng := rand.New(rand.NewChaCha8([32]byte{'b'}))
	a := planstoretest.Artifact("bench")
	a.Plan = make([]byte, 1<<20)
	for i := range a.Plan {
		a.Plan[i] = byte(rng.Uint32())
	}

	stores := []struct {
		name string
		make func(b *testing.B) planstoretest.Store
	}{
		{"fs", func(b *testing.B) planstoretest.Store {
			s, err := planfs.New(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			return s
		}},
		{"s3-unencrypted", func(b *testing.B) planstoretest.Store {
			return benchS3(b, srv, plans3.Options{Unencrypted: true})
		}},
		{"s3-encrypted", func(b *testing.B) planstoretest.Store {
			return benchS3(b, srv, plans3.Options{Key: testKey(1)})
		}},
	}
	perOp := map[string]time.Duration{}
	for _, st := range stores {
		b.Run(st.name, func(b *testing.B) {
			s := st.make(b)
			b.SetBytes(int64(len(a.Plan)))
			i := 0
			for b.Loop() {
				i++
				id := strconv.Itoa(i)
				p := *a
				if _, err := s.Put(b.Context(), id, &p); err != nil {
					b.Fatal(err)
				}
				if _, err := s.Get(b.Context(), id); err != nil {
					b.Fatal(err)
				}
			}
			perOp[st.name] = b.Elapsed() / time.Duration(b.N)
		})
	}
	if base := perOp["fs"]; base > 0 {
		for _, name := range []string{"s3-unencrypted", "s3-encrypted"} {
			if d := perOp[name]; d > 0 {
				b.Logf("%s: %v per Put+Get, planstore/fs %v: ratio %.2f", name, d, base, float64(d)/float64(base))
			}
		}
	}
}

func benchS3(b *testing.B, srv *s3test.Server, o plans3.Options) *plans3.Store {
	b.Helper()
	bucketNames.Lock()
	bucketNames.n++
	name := "bench-" + strconv.Itoa(bucketNames.n)
	bucketNames.Unlock()
	o.Bucket = srv.Bucket(b, name)
	o.Client = srv.Client()
	s, err := plans3.New(b.Context(), o)
	if err != nil {
		b.Fatal(err)
	}
	return s
}
