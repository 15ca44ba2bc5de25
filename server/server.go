// Package server is the HTTP server behind `goresnet serve` (and `make
// run`): the browser app (go-app's Handler, prerendering the pages of
// package app), its built files (app.wasm, worker.wasm, precompressed),
// the assets (icons, stylesheet, worker bootstrap), and datasets under
// /data/NAME/, with the headers that make the page cross-origin isolated
// (so the workers can share memory).
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	webapp "github.com/goresnet/goresnet/app"
	"github.com/goresnet/goresnet/assets"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// Config says what to serve.
type Config struct {
	// WebDir is the built app: app.wasm and worker.wasm (required), their
	// .br and .gz, and wasm_exec.js (the Go toolchain's; go-app's copy
	// otherwise).
	WebDir string
	// DataDir: every folder under it that holds a manifest.json is served
	// as a dataset under /data/FOLDER/. "" serves none.
	DataDir string
	// Datasets adds datasets by name (the built-in digits), unless a
	// folder of DataDir already has that name. Missing folders are skipped.
	Datasets map[string]string
	// Debug logs one line per request.
	Debug bool
	// Log receives the server's messages (nil: standard error).
	Log io.Writer

	// ReadHeaderTimeout, IdleTimeout and MaxHeaderBytes limit what a
	// client may hold (0: the defaults below).
	ReadHeaderTimeout time.Duration
	IdleTimeout       time.Duration
	MaxHeaderBytes    int
	// CSPReportURI, when set, is added to the content security policy as
	// its report-uri (the browser test collects violations there).
	CSPReportURI string
}

// Server serves the app; it is an http.Handler.
type Server struct {
	cfg     Config
	log     *log.Logger
	static  *staticFiles
	data    *datasets
	app     *app.Handler
	handler http.Handler

	// Version identifies this build of the app (a hash of every file
	// served under /web/): go-app's Version, the service worker's cache
	// name.
	Version string
}

// Required are the files WebDir must hold.
var Required = []string{"app.wasm", "worker.wasm"}

// New reads the built app and the assets, and prepares the handlers.
func New(cfg Config) (*Server, error) {
	out := cfg.Log
	if out == nil {
		out = os.Stderr
	}
	s := &Server{cfg: cfg, log: log.New(out, "goresnet serve: ", log.LstdFlags)}
	for _, f := range Required {
		if _, err := os.Stat(cfgPath(cfg.WebDir, f)); err != nil {
			return nil, fmt.Errorf("the app is not built (%v): build it with make web, or make run", err)
		}
	}
	st, err := loadStatic(cfg.WebDir, assets.Web)
	if err != nil {
		return nil, err
	}
	s.static = st
	s.data = newDatasets(cfg.DataDir, cfg.Datasets, s.log)
	s.Version = st.version(assets.ServiceWorker)

	webapp.Routes()
	var cacheable []string
	for _, p := range st.paths() {
		if p != "/web/app.wasm" {
			cacheable = append(cacheable, p)
		}
	}
	s.app = &app.Handler{
		Name:        webapp.Name,
		ShortName:   webapp.Name,
		Title:       webapp.Title,
		Description: "Fine-tune a ResNet image classifier on your own pictures, in your browser: the pictures never leave your machine.",
		Icon: app.Icon{
			Default:  "/web/icon-192.png",
			Large:    "/web/icon-512.png",
			Maskable: "/web/icon-512.png",
			SVG:      "/web/icon.svg",
		},
		BackgroundColor:       "#f7f8fa",
		ThemeColor:            "#124e78",
		LoadingLabel:          "Loading goresnet: {progress}%",
		Styles:                []string{"/web/goresnet.css"},
		CacheableResources:    cacheable,
		Version:               s.Version,
		WasmContentLength:     strconv.Itoa(len(st.get("/web/app.wasm").raw)),
		ServiceWorkerTemplate: assets.ServiceWorker,
		Resources:             resources{st},
	}
	var h http.Handler = http.HandlerFunc(s.route)
	h = getOrHead(h)
	h = isolate(h, cfg.CSPReportURI)
	if cfg.Debug {
		h = logRequests(h, s.log)
	}
	s.handler = h
	return s, nil
}

func cfgPath(dir, name string) string {
	if dir == "" {
		return name
	}
	return strings.TrimRight(dir, "/") + "/" + name
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// route sends a request to its handler. (Not an http.ServeMux: with a
// "/data/" pattern it would redirect the app's page /data to /data/.)
func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/data/"):
		s.data.ServeHTTP(w, r)
	case strings.HasPrefix(p, "/web/"):
		s.serveStatic(w, r, p)
	case p == "/wasm_exec.js" && s.static.get("/web/wasm_exec.js") != nil:
		// The toolchain's wasm_exec.js, which matches the wasm files.
		s.serveStatic(w, r, "/web/wasm_exec.js")
	default:
		s.app.ServeHTTP(jsType{w}, r)
	}
}

func (s *Server) serveStatic(w http.ResponseWriter, r *http.Request, p string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	f := s.static.get(p)
	if f == nil {
		http.NotFound(w, r)
		return
	}
	f.serve(w, r)
}

// resources resolves go-app's /web/ paths to themselves and serves them
// (go-app's LocalDir would serve the files of a folder named like the URL
// prefix, without compression).
type resources struct{ st *staticFiles }

func (r resources) Resolve(location string) string {
	if location == "" || location == "/" {
		return "/"
	}
	if strings.HasPrefix(location, "http://") || strings.HasPrefix(location, "https://") {
		return location
	}
	if location == "web" || location == "/web" || strings.HasPrefix(location, "web/") || strings.HasPrefix(location, "/web/") {
		return "/" + strings.Trim(location, "/")
	}
	return location
}

func (r resources) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	f := r.st.get(req.URL.Path)
	if f == nil {
		http.NotFound(w, req)
		return
	}
	f.serve(w, req)
}

// Describe says what the server serves, for its start-up message.
func (s *Server) Describe() string {
	ds := s.data.names()
	d := "no datasets"
	if len(ds) > 0 {
		d = "datasets " + strings.Join(ds, ", ")
	}
	return fmt.Sprintf("app %s: %s; %s", s.Version, s.static.describe("app.wasm", "worker.wasm"), d)
}

// Limits of the HTTP server, by default. No write timeout: a shard of a
// large dataset may take long on a slow link; no read timeout either (it
// would cut long responses, and no request has a body: only GET and HEAD
// are answered). The header limit leaves room for the cookies other
// local servers may have set for 127.0.0.1 (cookies ignore ports).
const (
	ReadHeaderTimeout = 10 * time.Second
	IdleTimeout       = 2 * time.Minute
	MaxHeaderBytes    = 64 << 10
	ShutdownTimeout   = 5 * time.Second
)

// Serve answers requests on ln until ctx is done, then shuts down cleanly:
// it stops accepting, lets running requests finish (for up to
// ShutdownTimeout) and returns nil.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := s.httpServer(ctx)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if e := <-errc; !errors.Is(e, http.ErrServerClosed) && err == nil {
		err = e
	}
	if errors.Is(err, context.DeadlineExceeded) {
		srv.Close()
		return fmt.Errorf("requests still running after %v were cut", ShutdownTimeout)
	}
	return err
}

// httpServer is the http.Server Serve runs, with the configured limits.
func (s *Server) httpServer(ctx context.Context) *http.Server {
	or := func(v, def time.Duration) time.Duration {
		if v > 0 {
			return v
		}
		return def
	}
	mh := s.cfg.MaxHeaderBytes
	if mh <= 0 {
		mh = MaxHeaderBytes
	}
	return &http.Server{
		Handler:           s,
		ReadHeaderTimeout: or(s.cfg.ReadHeaderTimeout, ReadHeaderTimeout),
		IdleTimeout:       or(s.cfg.IdleTimeout, IdleTimeout),
		MaxHeaderBytes:    mh,
		// "OPTIONS *" is answered by the handler too (405), not by
		// net/http's built-in 200.
		DisableGeneralOptionsHandler: true,
		ErrorLog:                     s.log,
		BaseContext:                  func(net.Listener) context.Context { return ctx },
	}
}
