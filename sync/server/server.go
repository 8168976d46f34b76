// Package server is shelfsync's one HTTP listener: /healthz, /readyz,
// /metrics, and whatever other parts Mount (webhook receivers under
// /webhooks/, the admin API under /api/v1/).
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

// Server is the listener and its routes. Mount and AddCheck may be called
// before or while it serves.
type Server struct {
	opt     Options
	mux     *http.ServeMux
	srv     *http.Server
	ln      net.Listener
	checks  *checks
	metrics *httpMetrics
}

// New builds the server and registers its metrics on o.Registry. It does
// not listen yet.
func New(o Options) (*Server, error) {
	if o.Registry == nil {
		return nil, errors.New("server: no registry")
	}
	if o.CheckTimeout <= 0 {
		o.CheckTimeout = 2 * time.Second
	}
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
	s := &Server{opt: o, mux: http.NewServeMux(), checks: &checks{}, metrics: m}
	s.srv = &http.Server{
		Handler:           s.guard(),
		ReadHeaderTimeout: o.HTTP.ReadHeaderTimeout,
		ReadTimeout:       o.HTTP.ReadTimeout,
		WriteTimeout:      o.HTTP.WriteTimeout,
		IdleTimeout:       o.HTTP.IdleTimeout,
		ErrorLog:          newErrorLog(o.Logger),
	}
	s.Mount("GET /healthz", http.HandlerFunc(healthz))
	s.Mount("GET /readyz", http.HandlerFunc(s.readyz))
	s.Mount("GET /metrics", promhttp.HandlerFor(o.Registry, promhttp.HandlerOpts{
		ErrorLog: newErrorLog(o.Logger), ErrorHandling: promhttp.ContinueOnError,
	}))
	return s, nil
}

// Mount routes pattern (net/http ServeMux syntax: "POST /webhooks/{channel}")
// to h, counted in the HTTP metrics under the pattern, with the body limit
// (http.body_limit) applied: a declared Content-Length over it is answered
// 413 before h runs, a longer chunked body fails h's reads. It panics on a
// conflicting pattern, as ServeMux does: a wiring mistake found at start-up.
func (s *Server) Mount(pattern string, h http.Handler) {
	s.mux.Handle(pattern, s.metrics.instrument(pattern, limitBody(s.opt.HTTP.BodyLimit, h)))
}

// Handler is the whole routing tree as the listener serves it, for tests
// that use httptest.
func (s *Server) Handler() http.Handler { return s.srv.Handler }

// Listen binds the configured address, so a port in use fails before
// anything else starts.
func (s *Server) Listen() error {
	ln, err := net.Listen("tcp", s.opt.HTTP.Listen)
	if err != nil {
		return fmt.Errorf("http listen: %w", err)
	}
	s.ln = ln
	return nil
}

// Addr is the bound address (useful with ":0"); nil before Listen.
func (s *Server) Addr() net.Addr {
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// Serve answers on the bound listener (Listen is called if it was not)
// until ctx ends, then stops accepting and waits for in-flight requests
// up to the shutdown timeout. It returns nil after a clean drain.
func (s *Server) Serve(ctx context.Context) error {
	if s.ln == nil {
		if err := s.Listen(); err != nil {
			return err
		}
	}
	s.opt.Logger.Info().Str("addr", s.ln.Addr().String()).Msg("http server listening")
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(s.ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("http serve: %w", err)
	case <-ctx.Done():
	}
	// The parent ctx is over: drain on a fresh one, bounded by the timeout.
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opt.ShutdownTimeout)
	defer cancel()
	err := s.srv.Shutdown(dctx)
	<-errc // Serve returns ErrServerClosed at once on Shutdown.
	if err != nil {
		s.srv.Close()
		return fmt.Errorf("http drain: %w", err)
	}
	s.opt.Logger.Info().Msg("http server drained")
	return nil
}
