// Package server is shelfsync's HTTP listener: /healthz, /readyz,
// /metrics, and whatever other parts Mount (webhook receivers under
// /webhooks/) or MountAdmin (the admin API under /api/v1/). With
// http.admin_listen set there are two listeners: the public one serves
// only what Mount routes, the admin one the rest, so only the webhooks
// need face the internet.
//
// It owns the listener's lifecycle: Listen binds, Serve answers until its
// context ends and then drains in-flight requests within the shutdown
// timeout. It never registers on Prometheus's global registry, and never
// answers a readiness failure with more than the failing check's error
// (which must hold no secret).
package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"

	"github.com/shelfsync/shelfsync/config"
)

// BuildInfo is exported as shelfsync_build_info{version,revision,goversion}.
type BuildInfo struct {
	Version   string
	Revision  string
	GoVersion string
}

// Options configures New.
type Options struct {
	HTTP config.HTTP
	// Registry gets the Go and process collectors, build info and the
	// HTTP metrics, and is what /metrics serves.
	Registry *prometheus.Registry
	Logger   zerolog.Logger
	Build    BuildInfo
	// ShutdownTimeout bounds the drain of in-flight requests.
	ShutdownTimeout time.Duration
	// CheckTimeout bounds each readiness check; default 2s.
	CheckTimeout time.Duration
}

// Server is the listener (or the two: http.admin_listen) and its routes.
// Mount, MountAdmin and AddCheck may be called before or while it serves.
type Server struct {
	opt     Options
	public  *endpoint
	admin   *endpoint // nil: one listener serves everything
	checks  *checks
	metrics *httpMetrics
}

// endpoint is one listener with its own routes.
type endpoint struct {
	name string // "http" or "admin", in logs and errors
	addr string
	mux  *http.ServeMux
	srv  *http.Server
	ln   net.Listener
}

// New builds the server and registers its metrics on o.Registry. It does
// not listen yet. With o.HTTP.AdminListen set, /healthz, /readyz,
// /metrics and what MountAdmin routes are served there, and
// o.HTTP.Listen serves only what Mount routes (the webhooks).
func New(o Options) (*Server, error) {
	if o.Registry == nil {
		return nil, errors.New("server: no registry")
	}
	if o.CheckTimeout <= 0 {
		o.CheckTimeout = 2 * time.Second
	}
	m, err := registerMetrics(o)
	if err != nil {
		return nil, err
	}
	s := &Server{opt: o, checks: &checks{}, metrics: m}
	s.public = s.newEndpoint("http", o.HTTP.Listen)
	if o.HTTP.AdminListen != "" {
		s.admin = s.newEndpoint("admin", o.HTTP.AdminListen)
	}
	s.MountAdmin("GET /healthz", http.HandlerFunc(healthz))
	s.MountAdmin("GET /readyz", http.HandlerFunc(s.readyz))
	s.MountAdmin("GET /metrics", promhttp.HandlerFor(o.Registry, promhttp.HandlerOpts{
		ErrorLog: newErrorLog(o.Logger), ErrorHandling: promhttp.ContinueOnError,
	}))
	return s, nil
}

// registerMetrics registers the Go and process collectors, the build info
// and the HTTP metrics on o.Registry.
func registerMetrics(o Options) (*httpMetrics, error) {
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "shelfsync_build_info",
		Help: "Always 1; the labels say which build runs.",
		ConstLabels: prometheus.Labels{
			"version": o.Build.Version, "revision": o.Build.Revision, "goversion": o.Build.GoVersion,
		},
	})
	build.Set(1)
	m := newHTTPMetrics()
	for _, c := range []prometheus.Collector{
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		build, m.requests, m.duration, m.inFlight,
	} {
		if err := o.Registry.Register(c); err != nil {
			return nil, fmt.Errorf("server: registering metrics: %w", err)
		}
	}
	return m, nil
}

func (s *Server) newEndpoint(name, addr string) *endpoint {
	e := &endpoint{name: name, addr: addr, mux: http.NewServeMux()}
	e.srv = &http.Server{
		Handler:           s.guard(e.mux),
		ReadHeaderTimeout: s.opt.HTTP.ReadHeaderTimeout,
		ReadTimeout:       s.opt.HTTP.ReadTimeout,
		WriteTimeout:      s.opt.HTTP.WriteTimeout,
		IdleTimeout:       s.opt.HTTP.IdleTimeout,
		ErrorLog:          newErrorLog(s.opt.Logger),
	}
	return e
}

// endpoints are the listeners, the public one first.
func (s *Server) endpoints() []*endpoint {
	if s.admin == nil {
		return []*endpoint{s.public}
	}
	return []*endpoint{s.public, s.admin}
}

// Mount routes pattern (net/http ServeMux syntax: "POST /webhooks/{channel}")
// to h on the public listener (http.listen), counted in the HTTP metrics
// under the pattern, with the body limit (http.body_limit) applied: a
// declared Content-Length over it is answered 413 before h runs, a longer
// chunked body fails h's reads. It panics on a conflicting pattern, as
// ServeMux does: a wiring mistake found at start-up.
func (s *Server) Mount(pattern string, h http.Handler) {
	s.public.mux.Handle(pattern, s.metrics.instrument(pattern, limitBody(s.opt.HTTP.BodyLimit, h)))
}

// MountAdmin routes pattern to h as Mount does, on the admin listener
// (http.admin_listen) when there is one, else on the public one: for
// what must not face the internet (the admin API).
func (s *Server) MountAdmin(pattern string, h http.Handler) {
	e := s.public
	if s.admin != nil {
		e = s.admin
	}
	e.mux.Handle(pattern, s.metrics.instrument(pattern, limitBody(s.opt.HTTP.BodyLimit, h)))
}

// Handler is the public listener's routing tree as it serves it, for
// tests that use httptest.
func (s *Server) Handler() http.Handler { return s.public.srv.Handler }

// AdminHandler is the admin listener's routing tree (the public one's when
// there is no admin listener).
func (s *Server) AdminHandler() http.Handler {
	if s.admin == nil {
		return s.Handler()
	}
	return s.admin.srv.Handler
}

// Listen binds the configured address (and the admin one), so a port in
// use fails before anything else starts.
func (s *Server) Listen() error {
	for _, e := range s.endpoints() {
		if e.ln != nil {
			continue
		}
		ln, err := net.Listen("tcp", e.addr)
		if err != nil {
			s.closeListeners()
			if e == s.admin {
				return fmt.Errorf("http admin listen: %w", err)
			}
			return fmt.Errorf("http listen: %w", err)
		}
		e.ln = ln
	}
	return nil
}

func (s *Server) closeListeners() {
	for _, e := range s.endpoints() {
		if e.ln != nil {
			e.ln.Close()
			e.ln = nil
		}
	}
}

// Addr is the public listener's bound address (useful with ":0"); nil
// before Listen.
func (s *Server) Addr() net.Addr { return s.public.bound() }

// AdminAddr is the admin listener's bound address, the public one's when
// there is no admin listener; nil before Listen.
func (s *Server) AdminAddr() net.Addr {
	if s.admin == nil {
		return s.Addr()
	}
	return s.admin.bound()
}

func (e *endpoint) bound() net.Addr {
	if e.ln == nil {
		return nil
	}
	return e.ln.Addr()
}

// Serve answers on the bound listeners (Listen is called if it was not)
// until ctx ends, then stops accepting and waits for in-flight requests
// up to the shutdown timeout. It returns nil after a clean drain. If one
// listener fails, both stop and the error is returned.
func (s *Server) Serve(ctx context.Context) error {
	if err := s.Listen(); err != nil {
		return err
	}
	eps := s.endpoints()
	errc := make(chan error, len(eps))
	for _, e := range eps {
		s.opt.Logger.Info().Str("addr", e.ln.Addr().String()).Str("listener", e.name).Msg("http server listening")
		go func() { errc <- fmt.Errorf("%s serve: %w", e.name, e.srv.Serve(e.ln)) }()
	}
	var failed error
	select {
	case failed = <-errc:
	case <-ctx.Done():
	}
	// The parent ctx is over (or a listener failed): drain on a fresh
	// one, bounded by the timeout.
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opt.ShutdownTimeout)
	defer cancel()
	var drainErr error
	for _, e := range eps {
		if err := e.srv.Shutdown(dctx); err != nil {
			e.srv.Close()
			drainErr = fmt.Errorf("http drain: %w", err)
		}
	}
	for range len(eps) - boolInt(failed != nil) {
		<-errc // Serve returns ErrServerClosed at once on Shutdown.
	}
	if failed != nil {
		return failed
	}
	if drainErr != nil {
		return drainErr
	}
	s.opt.Logger.Info().Msg("http server drained")
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
