package terraform

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// fakeReleases serves a releases site with terraform 99.0.0 and 99.1.0 (each
// a shell script printing its version), signed with a key of its own. It
// returns the site's URL, the armored public key and a download counter.
func fakeReleases(t *testing.T) (string, string, *atomic.Int32) {
	t.Helper()
	entity, err := openpgp.NewEntity("test releases", "", "releases@example.com", &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA})
	if err != nil {
		t.Fatal(err)
	}
	var pub bytes.Buffer
	w, err := armor.Encode(&pub, openpgp.PublicKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := entity.Serialize(w); err != nil {
		t.Fatal(err)
	}
	w.Close()

	type build struct {
		Name     string `json:"name"`
		Version  string `json:"version"`
		OS       string `json:"os"`
		Arch     string `json:"arch"`
		Filename string `json:"filename"`
		URL      string `json:"url"`
	}
	type productVersion struct {
		Name       string  `json:"name"`
		Version    string  `json:"version"`
		SHASums    string  `json:"shasums"`
		SHASumsSig string  `json:"shasums_signature"`
		Builds     []build `json:"builds"`
	}
	files := map[string][]byte{}
	index := map[string]productVersion{}
	for _, v := range []string{"99.0.0", "99.1.0"} {
		var zbuf bytes.Buffer
		zw := zip.NewWriter(&zbuf)
		f, err := zw.Create("terraform")
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(f, "#!/bin/sh\necho 'Terraform v%s'\necho 'on %s_%s'\n", v, runtime.GOOS, runtime.GOARCH)
		zw.Close()
		zipName := fmt.Sprintf("terraform_%s_%s_%s.zip", v, runtime.GOOS, runtime.GOARCH)
		sum := sha256.Sum256(zbuf.Bytes())
		sums := []byte(hex.EncodeToString(sum[:]) + "  " + zipName + "\n")
		var sig bytes.Buffer
		if err := openpgp.DetachSign(&sig, entity, bytes.NewReader(sums), nil); err != nil {
			t.Fatal(err)
		}
		pv := productVersion{
			Name: "terraform", Version: v,
			SHASums:    fmt.Sprintf("terraform_%s_SHA256SUMS", v),
			SHASumsSig: fmt.Sprintf("terraform_%s_SHA256SUMS.sig", v),
			Builds: []build{{Name: "terraform", Version: v, OS: runtime.GOOS, Arch: runtime.GOARCH, Filename: zipName,
				URL: "/terraform/" + v + "/" + zipName}},
		}
		index[v] = pv
		pvJSON, _ := json.Marshal(pv)
		files["/terraform/"+v+"/index.json"] = pvJSON
		files["/terraform/"+v+"/"+zipName] = zbuf.Bytes()
		files["/terraform/"+v+"/"+pv.SHASums] = sums
		files["/terraform/"+v+"/"+pv.SHASumsSig] = sig.Bytes()
	}
	idx, _ := json.Marshal(map[string]any{"name": "terraform", "versions": index})
	files["/terraform/index.json"] = idx

	var downloads atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		switch {
		case strings.HasSuffix(r.URL.Path, ".json"):
			w.Header().Set("Content-Type", "application/json")
		case strings.HasSuffix(r.URL.Path, ".zip"):
			downloads.Add(1)
			w.Header().Set("Content-Type", "application/zip")
		}
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, pub.String(), &downloads
}

// TestBinaryInstall installs the newest matching release from a fake,
// signed releases site, then finds it again without downloading.
func TestBinaryInstall(t *testing.T) {
	t.Parallel()
	url, key, downloads := fakeReleases(t)
	e, _ := newTestEngine(t, WithInstall(true), WithReleasesURL(url), withReleasesKey(key))
	ctx := testContext(t)

	b, err := e.Binary(ctx, ">= 99.0, < 100")
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(e.installDir, "terraform_99.1.0", "terraform")
	if b.Path != want || b.Version.String() != "99.1.0" || b.Kind != KindTerraform {
		t.Errorf("installed %s, want terraform 99.1.0 at %s", b, want)
	}
	b, err = e.Binary(ctx, ">= 99")
	if err != nil || b.Path != want {
		t.Errorf("second Binary = %v, %v", b, err)
	}
	if n := downloads.Load(); n != 1 {
		t.Errorf("%d downloads, want 1", n)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(e.installDir, ".install-*")); len(leftovers) > 0 {
		t.Errorf("temporary install directories left: %v", leftovers)
	}

	// A release signed with another key is refused.
	_, otherKey, _ := fakeReleases(t)
	e2, _ := newTestEngine(t, WithInstall(true), WithReleasesURL(url), withReleasesKey(otherKey))
	if _, err := e2.Binary(ctx, ">= 99"); err == nil || !strings.Contains(err.Error(), "signature") {
		t.Errorf("install with the wrong key = %v, want a signature error", err)
	}
	if _, err := os.Stat(filepath.Join(e2.installDir, "terraform_99.1.0")); err == nil {
		t.Error("unverified release installed")
	}
}
