package server

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"time"
)

// webFS holds the dashboard's templates and static files.
//
//go:embed web/templates/*.html web/static/*
var webFS embed.FS

// staticFile is a file served under /static/, with its content hash.
type staticFile struct {
	data []byte
	hash string // the first 12 hex digits of its sha256
}

// statics are the files of web/static, by name.
var statics = loadStatics()

func loadStatics() map[string]staticFile {
	out := map[string]staticFile{}
	entries, err := fs.ReadDir(webFS, "web/static")
	if err != nil {
		panic(err) // embedded: cannot fail
	}
	for _, e := range entries {
		data, err := fs.ReadFile(webFS, "web/static/"+e.Name())
		if err != nil {
			panic(err)
		}
		sum := sha256.Sum256(data)
		out[e.Name()] = staticFile{data: data, hash: hex.EncodeToString(sum[:])[:12]}
	}
	return out
}

// staticURL is the URL of a static file, with its hash as the version:
// a new build's files are new URLs, so browsers may keep them for long.
func staticURL(name string) string {
	f, ok := statics[name]
	if !ok {
		panic("dashboard: no static file " + name) // a template bug, caught by the tests
	}
	return "/static/" + name + "?v=" + f.hash
}

// serveStatic serves GET /static/{file}: cacheable for a year when the
// request names the current version (?v=hash), for an hour otherwise;
// ETag is the hash.
func serveStatic(w http.ResponseWriter, r *http.Request) {
	secure(w)
	name := r.PathValue("file")
	f, ok := statics[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	if r.URL.Query().Get("v") == f.hash {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "public, max-age=3600")
	}
	w.Header().Set("ETag", `"`+f.hash+`"`)
	switch path.Ext(name) {
	case ".css":
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
	case ".js":
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	case ".svg":
		w.Header().Set("Content-Type", "image/svg+xml")
	}
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(f.data))
}
