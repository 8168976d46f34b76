package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/rs/zerolog"
)

// newLogger builds the daemon's root logger: JSON lines by default, or
// zerolog's human console format. The level is set on this logger, never
// globally, so tests and tools in one process do not disturb each other.
// Components take sub-loggers: log.With().Str("component", "http").
//
// Every JSON line holds each key once. zerolog's With() appends a field
// even when the parent has it, so a component's sub-logger under another
// ("component":"engine","component":"intake"), or an event naming a field
// its logger has, would write the key twice, which log pipelines reject
// or read as the first. The writer keeps the last: the innermost.
func newLogger(w io.Writer, level, format string) (zerolog.Logger, error) {
	lvl, err := zerolog.ParseLevel(level)
	if err != nil || level == "" {
		return zerolog.Nop(), fmt.Errorf("log level %q: want trace, debug, info, warn, error or disabled", level)
	}
	switch format {
	case "json":
		w = uniqueKeys{w}
	case "console":
		// Colours only on a terminal: escape codes in a log file are noise.
		// It reads each line into a map, so a key shows once there too.
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.RFC3339, NoColor: !isTerminal(w)}
	default:
		return zerolog.Nop(), fmt.Errorf("log format %q: want json or console", format)
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger(), nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// uniqueKeys passes zerolog's JSON lines on with every top-level key once,
// at the place and with the value of its last occurrence. A line with no
// key twice (nearly all) is passed on as it is; so is anything that is
// not one JSON object.
type uniqueKeys struct{ w io.Writer }

func (u uniqueKeys) Write(p []byte) (int, error) {
	out := dedupKeys(p)
	if _, err := u.w.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// member is one "key":value of an object: p[start:end], the key's
// quoted bytes p[start:keyEnd].
type member struct{ start, keyEnd, end int }

// dedupKeys returns p with the earlier members of every key that comes
// more than once in its top-level object left out, or p itself.
func dedupKeys(p []byte) []byte {
	var buf [32]member
	ms, open, end, ok := objectMembers(p, buf[:0])
	if !ok {
		return p
	}
	repeated := func(i int) bool { // a later member has m's key
		k := p[ms[i].start:ms[i].keyEnd]
		for _, n := range ms[i+1:] {
			if bytes.Equal(k, p[n.start:n.keyEnd]) {
				return true
			}
		}
		return false
	}
	dup := false
	for i := range ms {
		if repeated(i) {
			dup = true
			break
		}
	}
	if !dup {
		return p
	}
	out := make([]byte, 0, len(p))
	out = append(out, p[:open+1]...)
	first := true
	for i, m := range ms {
		if repeated(i) {
			continue
		}
		if !first {
			out = append(out, ',')
		}
		first = false
		out = append(out, p[m.start:m.end]...)
	}
	return append(out, p[end:]...)
}

// objectMembers splits the one JSON object in p into its members; open
// and end are the indexes of its braces. ok is false when p is not one
// object (what follows end must be white space).
func objectMembers(p []byte, ms []member) (_ []member, open, end int, ok bool) {
	i := skipSpace(p, 0)
	if i >= len(p) || p[i] != '{' {
		return nil, 0, 0, false
	}
	open = i
	i = skipSpace(p, i+1)
	if i < len(p) && p[i] == '}' {
		return ms, open, i, skipSpace(p, i+1) == len(p)
	}
	for i < len(p) {
		if p[i] != '"' {
			return nil, 0, 0, false
		}
		start := i
		if i = skipString(p, i); i < 0 {
			return nil, 0, 0, false
		}
		keyEnd := i
		i = skipSpace(p, i)
		if i >= len(p) || p[i] != ':' {
			return nil, 0, 0, false
		}
		i = skipValue(p, skipSpace(p, i+1))
		if i < 0 {
			return nil, 0, 0, false
		}
		ms = append(ms, member{start, keyEnd, i})
		i = skipSpace(p, i)
		switch {
		case i >= len(p):
			return nil, 0, 0, false
		case p[i] == ',':
			i = skipSpace(p, i+1)
		case p[i] == '}':
			return ms, open, i, skipSpace(p, i+1) == len(p)
		default:
			return nil, 0, 0, false
		}
	}
	return nil, 0, 0, false
}

func skipSpace(p []byte, i int) int {
	for i < len(p) && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at p[i] (a
// quote), -1 when it does not end.
func skipString(p []byte, i int) int {
	for i++; i < len(p); i++ {
		switch p[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return -1
}

// skipValue returns the index after the value starting at p[i], -1 when
// there is none or it does not end.
func skipValue(p []byte, i int) int {
	if i >= len(p) {
		return -1
	}
	switch p[i] {
	case '"':
		return skipString(p, i)
	case '{', '[':
		depth := 0
		for ; i < len(p); i++ {
			switch p[i] {
			case '"':
				if i = skipString(p, i) - 1; i < 0 {
					return -1
				}
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
		return -1
	}
	j := i
	for j < len(p) && !endsLiteral(p[j]) {
		j++
	}
	if j == i {
		return -1
	}
	return j
}

// endsLiteral: the bytes after a number, true, false or null.
func endsLiteral(c byte) bool {
	switch c {
	case ',', '}', ']', ' ', '\t', '\r', '\n':
		return true
	}
	return false
}
