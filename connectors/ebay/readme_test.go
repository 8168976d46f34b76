package ebay

import (
	"os"
	"strings"
	"testing"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
)

// TestReadmeConfig: the README's sample configuration loads with the
// strict loader and builds a connector.
func TestReadmeConfig(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "```yaml\n")
	sample, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("README has no yaml sample")
	}
	t.Setenv("EBAY_CLIENT_ID", "id")
	t.Setenv("EBAY_CLIENT_SECRET", "secret")
	t.Setenv("EBAY_REFRESH_TOKEN", "refresh")
	t.Setenv("EBAY_VERIFICATION_TOKEN", "verification-token-of-thirty-two-chars")
	cfg, err := config.Parse("README.md", []byte("locations:\n  - id: warehouse\n    priority: 1\n"+sample))
	if err != nil {
		t.Fatalf("README sample: %v", err)
	}
	ch := cfg.ChannelByName("ebay")
	if ch == nil {
		t.Fatal("no channel ebay")
	}
	c, err := NewWithOptions(connectors.TestDeps(*ch), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c.endpointURL != "https://sync.example.com/webhooks/ebay" || c.marketplace != "EBAY_US" || c.api != DefaultAPIURL {
		t.Fatalf("connector from README: endpoint %s marketplace %s api %s", c.endpointURL, c.marketplace, c.api)
	}
}
