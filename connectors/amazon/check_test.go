package amazon

import (
	"context"
	"strings"
	"testing"

	"github.com/shelfsync/shelfsync/config"
)

// TestCheck: the access check of a channel with a queue takes an LWA
// token, searches one listing and resolves the SQS queue; each refusal
// (the refresh token, the AWS keys, a queue that does not exist) fails it
// with what to fix, no secret in the error.
func TestCheck(t *testing.T) {
	tests := []struct {
		name       string
		mutate     func(*config.Channel)
		wantErr    string
		wantSearch int
	}{
		{"accepted", nil, "", 1},
		{"refused refresh token", func(ch *config.Channel) {
			ch.Credentials.RefreshToken = config.NewSecret("Atzr|revoked")
		}, "LWA credentials", 0},
		{"wrong AWS secret", func(ch *config.Channel) {
			ch.Credentials.AWSSecretAccessKey = config.NewSecret("wrong-aws-secret")
		}, "resolving the SQS queue", 1},
		{"no such queue", func(ch *config.Channel) {
			settingsOf(ch).SQS.QueueURL = strings.TrimSuffix(settingsOf(ch).SQS.QueueURL, "/") + "-gone"
		}, "QueueDoesNotExist", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			srv := newFake(t, clk, nil)
			q := newQueueConnector(t, srv, clk, tt.mutate)
			err := q.Check(context.Background())
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Check: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Check: %v, want an error with %q", err, tt.wantErr)
			}
			for _, secret := range []string{"Atzr|revoked", "wrong-aws-secret"} {
				if err != nil && strings.Contains(err.Error(), secret) {
					t.Errorf("the error holds a secret: %v", err)
				}
			}
			if got := srv.Calls("searchListingsItems"); got != tt.wantSearch {
				t.Errorf("searchListingsItems calls = %d, want %d", got, tt.wantSearch)
			}
		})
	}
}
