package server

import (
	"fmt"
	"log"
	"net/http"
	"strings"
	"time"
)

// ContentSecurityPolicy is what the app may load and run, sent with every
// response (a worker's policy is its script's response's, so worker.js
// and the service worker get it too). Everything comes from the server
// itself ('self'); beyond that:
//
//   - script-src 'wasm-unsafe-eval': compiling WebAssembly (app.wasm,
//     worker.wasm, and the GEMM kernel the workers assemble at start-up);
//     no JavaScript eval, no inline scripts (go-app's pages have none);
//   - worker-src blob:: workers made from a Blob (the page's own code);
//   - img-src blob: data:: pictures the user picks, shown from object URLs,
//     and data: URLs (thumbnails, plots);
//   - media-src blob:: the camera's view on the Predict page;
//   - connect-src blob:: reading a picked file through its object URL;
//   - object-src, base-uri 'none'; frame-ancestors 'none' (no page may
//     frame the app); form-action 'self'.
//
// Downloads (an exported model: an <a download> to a blob: URL) are
// navigations, which CSP leaves alone. Styles come from the stylesheets
// only: a style="" attribute (go-app's Style()) would need
// style-src-attr 'unsafe-inline'.
const ContentSecurityPolicy = "default-src 'self'; " +
	"script-src 'self' 'wasm-unsafe-eval'; " +
	"worker-src 'self' blob:; " +
	"connect-src 'self' blob:; " +
	"img-src 'self' blob: data:; " +
	"media-src 'self' blob:; " +
	"style-src 'self'; " +
	"font-src 'self'; " +
	"manifest-src 'self'; " +
	"object-src 'none'; " +
	"base-uri 'none'; " +
	"form-action 'self'; " +
	"frame-ancestors 'none'"

// isolate sets the headers every response carries: cross-origin isolation
// (COOP same-origin + COEP require-corp make crossOriginIsolated true, so
// SharedArrayBuffer works), CORP same-origin (our files are for our pages
// only), nosniff (every Content-Type is meant), the content security
// policy (with report-uri reportURI when it is not empty: the browser test
// collects violations there) and no referrer.
func isolate(h http.Handler, reportURI string) http.Handler {
	csp := ContentSecurityPolicy
	if reportURI != "" {
		csp += "; report-uri " + reportURI
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Cross-Origin-Opener-Policy", "same-origin")
		hd.Set("Cross-Origin-Embedder-Policy", "require-corp")
		hd.Set("Cross-Origin-Resource-Policy", "same-origin")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Content-Security-Policy", csp)
		hd.Set("Referrer-Policy", "no-referrer")
		h.ServeHTTP(w, r)
	})
}

// getOrHead answers 405 Method Not Allowed (with Allow: GET, HEAD) to
// any other method: the server only serves files, for every path.
func getOrHead(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed: this server only serves files (GET, HEAD)", http.StatusMethodNotAllowed)
			return
		}
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

// zeroSuffixRanges drops the ranges "-0" from a request's Range header
// (a suffix of length 0, which selects nothing): net/http's ServeContent
// answers them 206 with an invalid Content-Range "bytes SIZE-(SIZE-1)/SIZE"
// (golang/go#81262). When nothing else is asked for, it answers 416 with
// Content-Range bytes */size itself and reports false.
func zeroSuffixRanges(w http.ResponseWriter, r *http.Request, size int64) bool {
	rh := r.Header.Get("Range")
	spec, ok := strings.CutPrefix(rh, "bytes=")
	if !ok || !strings.Contains(spec, "-") {
		return true
	}
	var keep []string
	dropped := false
	for _, part := range strings.Split(spec, ",") {
		p := strings.TrimSpace(part)
		if strings.HasPrefix(p, "-") && strings.Trim(p[1:], "0") == "" && len(p) > 1 {
			dropped = true
			continue
		}
		keep = append(keep, part)
	}
	if !dropped {
		return true
	}
	for _, k := range keep {
		if strings.TrimSpace(k) != "" {
			r.Header.Set("Range", "bytes="+strings.Join(keep, ","))
			return true
		}
	}
	w.Header().Set("Content-Range", fmt.Sprintf("bytes */%d", size))
	http.Error(w, "requested range not satisfiable", http.StatusRequestedRangeNotSatisfiable)
	return false
}

// jsType makes go-app's scripts (app.js, app-worker.js, served as
// application/javascript) text/javascript, as the app's own are (RFC 9239).
type jsType struct{ http.ResponseWriter }

func (j jsType) WriteHeader(code int) {
	if strings.HasPrefix(j.Header().Get("Content-Type"), "application/javascript") {
		j.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	}
	j.ResponseWriter.WriteHeader(code)
}

func (j jsType) Write(b []byte) (int, error) {
	if strings.HasPrefix(j.Header().Get("Content-Type"), "application/javascript") {
		j.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	}
	return j.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the real writer.
func (j jsType) Unwrap() http.ResponseWriter { return j.ResponseWriter }
