package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode"
	"unicode/utf8"
)

// maxJSONDepth bounds the nesting checkStrictJSON walks; admin bodies are
// flat objects.
const maxJSONDepth = 32

// checkStrictJSON reports what encoding/json would let pass silently in a
// request body: anything but exactly one JSON object (a second value after
// it, {"delta":1}{"delta":99}, would otherwise be ignored), and a key that
// appears twice in one object ({"delta":1,"delta":99} would otherwise apply
// the last). Keys count as the same when encoding/json would decode them
// into the same field: it matches field names without regard to case, so
// "delta" and "Delta" are duplicates too. Unknown fields are left to
// json.Decoder.DisallowUnknownFields.
func checkStrictJSON(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err == io.EOF {
		return errors.New("empty: a JSON object is required")
	}
	if err != nil {
		return fmt.Errorf("not valid JSON: %v", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return errors.New("must be a JSON object")
	}
	if err := checkObject(dec, "", 1); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("unexpected data after the JSON object: send exactly one JSON value")
	}
	return nil
}

// checkObject walks an object whose '{' was read, up to its '}'.
func checkObject(dec *json.Decoder, path string, depth int) error {
	seen := map[string]string{} // folded key -> the key as first sent
	for {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("not valid JSON: %v", syntaxMessage(err))
		}
		if d, ok := tok.(json.Delim); ok && d == '}' {
			return nil
		}
		key, ok := tok.(string)
		if !ok { // the decoder's own checks make this unreachable
			return errors.New("not valid JSON: an object key is not a string")
		}
		name := path + key
		if first, dup := seen[foldKey(key)]; dup {
			if first == key {
				return fmt.Errorf("duplicate key %q: each key may appear once", name)
			}
			return fmt.Errorf("duplicate key %q: it names the same field as %q (keys match without regard to case)", name, path+first)
		}
		seen[foldKey(key)] = key
		if err := checkValue(dec, name+".", depth); err != nil {
			return err
		}
	}
}

// checkValue reads one value, walking into objects and arrays.
func checkValue(dec *json.Decoder, path string, depth int) error {
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("not valid JSON: %v", syntaxMessage(err))
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	if depth >= maxJSONDepth {
		return fmt.Errorf("nested deeper than %d levels", maxJSONDepth)
	}
	if d == '{' {
		return checkObject(dec, path, depth+1)
	}
	for dec.More() { // '[': ']' is read below
		if err := checkValue(dec, path, depth+1); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		return fmt.Errorf("not valid JSON: %v", syntaxMessage(err))
	}
	return nil
}

func syntaxMessage(err error) string {
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		return "unexpected end"
	}
	return err.Error()
}

// foldKey folds a key as encoding/json does when it matches a key to a
// struct field (ASCII letters upper-cased, every other rune the smallest of
// its case-folding orbit, so "K" and the Kelvin sign fold alike).
func foldKey(k string) string {
	var b []byte
	for _, r := range k {
		for {
			r2 := unicode.SimpleFold(r)
			if r2 <= r {
				r = r2
				break
			}
			r = r2
		}
		b = utf8.AppendRune(b, r)
	}
	return string(b)
}
