package ebay

import (
	"context"
	"strings"
	"testing"

	"github.com/shelfsync/shelfsync/config"
)

// TestCheck: the access check takes a user token and reads one page of
// one inventory item; a refused refresh token fails it (and never shows
// in the error).
func TestCheck(t *testing.T) {
	tests := []struct {
		name         string
		refreshToken string
		wantErr      string
		wantReads    int
	}{
		{"accepted", "", "", 1},
		{"refused refresh token", "revoked-refresh-token", "refresh token", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, envConfig{channel: func(ch *config.Channel) {
				if tt.refreshToken != "" {
					ch.Credentials.RefreshToken = config.NewSecret(tt.refreshToken)
				}
			}})
			err := e.conn.Check(context.Background())
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Check: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Check: %v, want an error with %q", err, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), tt.refreshToken) {
				t.Errorf("the error holds the refresh token: %v", err)
			}
			if got := e.fake.Calls("get_inventory_items"); got != tt.wantReads {
				t.Errorf("getInventoryItems calls = %d, want %d", got, tt.wantReads)
			}
		})
	}
}
