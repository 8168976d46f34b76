package server

import (
	"log"
	"strings"

	"github.com/rs/zerolog"
)

// newErrorLog routes net/http's and promhttp's own complaints (TLS
// handshake noise, a failed scrape) into the server's zerolog logger.
func newErrorLog(l zerolog.Logger) *log.Logger {
	return log.New(logWriter{l}, "", 0)
}

type logWriter struct{ l zerolog.Logger }

func (w logWriter) Write(p []byte) (int, error) {
	w.l.Warn().Msg(strings.TrimSpace(string(p)))
	return len(p), nil
}
