package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// staticFile is one file served under /web/, held in memory with its
// precompressed forms (FILE.br, FILE.gz beside it in the web folder).
type staticFile struct {
	path   string // URL path, "/web/app.wasm"
	ctype  string
	raw    []byte
	br, gz []byte
	hash   string // hex sha256 of raw
}

// staticFiles are the app's built files and the embedded assets. They are
// read once, when the server starts, so that what it serves always
// matches the Version it announces.
type staticFiles struct {
	files map[string]*staticFile
}

// contentType is a file's Content-Type by its extension.
func contentType(name string) string {
	switch path.Ext(name) {
	case ".wasm":
		return "application/wasm"
	case ".js", ".mjs":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".json":
		return "application/json"
	case ".webmanifest":
		return "application/manifest+json"
	case ".svg":
		return "image/svg+xml"
	case ".png":
		return "image/png"
	case ".html":
		return "text/html; charset=utf-8"
	}
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}

// loadStatic reads the top-level files of dir (the build's output; ""
// for none) and of embedded (the assets), dir's files taking precedence.
func loadStatic(dir string, embedded fs.FS) (*staticFiles, error) {
	s := &staticFiles{files: map[string]*staticFile{}}
	add := func(fsys fs.FS, where string) error {
		entries, err := fs.ReadDir(fsys, ".")
		if err != nil {
			return fmt.Errorf("reading %s: %w", where, err)
		}
		for _, e := range entries {
			name := e.Name()
			if !e.Type().IsRegular() || strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".br") || strings.HasSuffix(name, ".gz") {
				continue
			}
			if _, done := s.files["/web/"+name]; done {
				continue
			}
			raw, err := fs.ReadFile(fsys, name)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(raw)
			f := &staticFile{path: "/web/" + name, ctype: contentType(name), raw: raw, hash: hex.EncodeToString(sum[:])}
			// A compressed form is used only if it is not older than the
			// file (a stale one would serve the previous build).
			st, _ := fs.Stat(fsys, name)
			for _, v := range []struct {
				ext string
				dst *[]byte
			}{{".br", &f.br}, {".gz", &f.gz}} {
				cst, err := fs.Stat(fsys, name+v.ext)
				if err != nil || st == nil || cst.ModTime().Before(st.ModTime()) {
					continue
				}
				if *v.dst, err = fs.ReadFile(fsys, name+v.ext); err != nil {
					return err
				}
			}
			s.files[f.path] = f
		}
		return nil
	}
	if dir != "" {
		if err := add(os.DirFS(dir), dir); err != nil {
			return nil, err
		}
	}
	if embedded != nil {
		if err := add(embedded, "the embedded assets"); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// get returns the file at a URL path.
func (s *staticFiles) get(p string) *staticFile { return s.files[p] }

// paths lists the URL paths, sorted.
func (s *staticFiles) paths() []string {
	var p []string
	for k := range s.files {
		p = append(p, k)
	}
	sort.Strings(p)
	return p
}

// version is a hash of every file: it changes with any rebuilt file.
func (s *staticFiles) version(extra ...string) string {
	h := sha256.New()
	for _, p := range s.paths() {
		fmt.Fprintf(h, "%s %s\n", p, s.files[p].hash)
	}
	for _, e := range extra {
		fmt.Fprintf(h, "%d %s\n", len(e), e)
	}
	return hex.EncodeToString(h.Sum(nil))[:20]
}

// acceptsEncoding reports whether an Accept-Encoding header allows coding
// (present with a non-zero q, or "*" with a non-zero q).
func acceptsEncoding(header, coding string) bool {
	star := false
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		name = strings.ToLower(strings.TrimSpace(name))
		q := 1.0
		for _, p := range strings.Split(params, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					q = f
				}
			}
		}
		switch name {
		case coding:
			return q > 0
		case "*":
			star = q > 0
		}
	}
	return star
}

// serve writes f, in the best encoding the request accepts. Files are
// revalidated on every use (no-cache) with a strong ETag per encoding, so
// a new build is picked up at once and an unchanged one costs a 304.
func (f *staticFile) serve(w http.ResponseWriter, r *http.Request) {
	body, enc := f.raw, ""
	ae := r.Header.Get("Accept-Encoding")
	switch {
	case f.br != nil && acceptsEncoding(ae, "br"):
		body, enc = f.br, "br"
	case f.gz != nil && acceptsEncoding(ae, "gzip"):
		body, enc = f.gz, "gzip"
	}
	h := w.Header()
	h.Set("Content-Type", f.ctype)
	h.Set("Cache-Control", "no-cache")
	if f.br != nil || f.gz != nil {
		h.Add("Vary", "Accept-Encoding")
	}
	tag := f.hash[:32]
	if enc != "" {
		h.Set("Content-Encoding", enc)
		tag += "-" + enc
	}
	h.Set("ETag", `"`+tag+`"`)
	if !zeroSuffixRanges(w, r, int64(len(body))) {
		return
	}
	http.ServeContent(w, r, f.path, time.Time{}, bytes.NewReader(body))
}

// describe says what was loaded, for the start-up message.
func (s *staticFiles) describe(names ...string) string {
	var parts []string
	for _, n := range names {
		f := s.get("/web/" + n)
		if f == nil {
			continue
		}
		p := fmt.Sprintf("%s %.1f MB", n, float64(len(f.raw))/1e6)
		if f.br != nil {
			p += fmt.Sprintf(" (brotli %.1f MB)", float64(len(f.br))/1e6)
		} else if f.gz != nil {
			p += fmt.Sprintf(" (gzip %.1f MB)", float64(len(f.gz))/1e6)
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, ", ")
}
