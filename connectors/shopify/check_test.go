package shopify

import (
	"context"
	"strings"
	"testing"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors/shopify/shopifytest"
)

// TestCheck: the access check is one ShelfsyncLevels call the fake
// answers when the token is right, and a refusal naming the token when it
// is not (the token itself never in the error).
func TestCheck(t *testing.T) {
	tests := []struct {
		name    string
		token   string
		wantErr string
	}{
		{"accepted", "", ""},
		{"refused token", "shpat_wrong_token", "access token is refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newFake(t, shopifytest.Options{})
			c := newTestConnector(t, s, func(ch *config.Channel) {
				if tt.token != "" {
					ch.Credentials.AccessToken = config.NewSecret(tt.token)
				}
			})
			err := c.Check(context.Background())
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
			} else if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Check: %v, want an error with %q", err, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), tt.token) {
				t.Errorf("the error holds the token: %v", err)
			}
			if got := s.Calls()["ShelfsyncLevels"]; got != 1 && tt.wantErr == "" {
				t.Errorf("ShelfsyncLevels calls = %d, want 1", got)
			}
		})
	}
}
