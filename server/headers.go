package server

import (
	"log"
	"net/http"
	"time"
)

// isolate sets the headers every response carries: cross-origin isolation
// (COOP same-origin + COEP require-corp make crossOriginIsolated true, so
// SharedArrayBuffer works), CORP same-origin (our files are for our pages
// only), and nosniff (every Content-Type is meant).
func isolate(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Cross-Origin-Opener-Policy", "same-origin")
		hd.Set("Cross-Origin-Embedder-Policy", "require-corp")
		hd.Set("Cross-Origin-Resource-Policy", "same-origin")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		h.ServeHTTP(w, r)
	})
}

// recorder notes a response's status and size.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the real writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// logRequests logs one line per request: method, path and query, status,
// bytes sent, encoding, range, duration.
func logRequests(h http.Handler, l *log.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t0 := time.Now()
		rec := &recorder{ResponseWriter: w}
		h.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		extra := ""
		if e := w.Header().Get("Content-Encoding"); e != "" {
			extra += " " + e
		}
		if rg := r.Header.Get("Range"); rg != "" {
			extra += " range=" + rg
		}
		l.Printf("%s %s %d %dB%s %v", r.Method, r.URL.RequestURI(), rec.status, rec.bytes, extra, time.Since(t0).Round(10*time.Microsecond))
	})
}
