package woocommerce

import (
	"testing"

	"github.com/shelfsync/shelfsync/config"
)

// TestIdentity: one store is one identity however its address is
// written (case of scheme and host, a trailing slash); a sub-directory
// install or another host is another store.
func TestIdentity(t *testing.T) {
	tests := []struct{ a, b string }{
		{"https://Shop.example.com/", "https://shop.example.com"},
		{"HTTPS://shop.example.com/store/", "https://shop.example.com/store"},
	}
	for _, tt := range tests {
		a, b := (&Settings{URL: tt.a}).Identity(&config.Channel{}), (&Settings{URL: tt.b}).Identity(&config.Channel{})
		if a == "" || a != b {
			t.Errorf("%q and %q: identities %q and %q, want one", tt.a, tt.b, a, b)
		}
	}
	others := []string{"https://shop.example.com", "https://shop.example.com/store", "https://other.example.com"}
	seen := map[string]string{}
	for _, u := range others {
		id := (&Settings{URL: u}).Identity(&config.Channel{})
		if prev, dup := seen[id]; dup {
			t.Errorf("%q and %q share the identity %q", prev, u, id)
		}
		seen[id] = u
	}
}
