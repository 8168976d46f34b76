package server

import (
	"io"
	"net/http"
)

// limitBody holds every request to the body limit (http.body_limit). One
// that declares a larger Content-Length is answered 413 at once, before
// anything reads its body: waiting for a body that is refused anyway (or
// that a client sends only after an answer, or never) would hold the
// connection until the read timeout and end it with no answer. A body of
// unknown length (chunked) is cut at the limit while it is read
// (http.MaxBytesReader), so the handler sees *http.MaxBytesError.
func limitBody(limit int64, next http.Handler) http.Handler {
	if limit <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > limit {
			refuseTooLarge(w)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		next.ServeHTTP(w, r)
	})
}

// refuseTooLarge answers 413 as the webhook receiver does, and closes the
// connection after it: the unread body must not be taken for the next
// request, nor drained first.
func refuseTooLarge(w http.ResponseWriter) {
	w.Header().Set("Connection", "close")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusRequestEntityTooLarge)
	io.WriteString(w, `{"error":"body_too_large"}`+"\n")
}

// guard is a listener's handler: its mux, with the body limit applied to
// requests no mounted route matches too (a 404 or 405 would otherwise
// wait for the body before answering). Matched routes apply it inside
// their instrumentation (Mount), so their 413s are counted per route.
func (s *Server) guard(mux *http.ServeMux) http.Handler {
	limit := s.opt.HTTP.BodyLimit
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if limit > 0 && r.ContentLength > limit {
			if _, pattern := mux.Handler(r); pattern == "" {
				refuseTooLarge(w)
				return
			}
		}
		mux.ServeHTTP(w, r)
	})
}
