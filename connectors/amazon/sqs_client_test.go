package amazon

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors/amazon/amazontest"
)

// isolateAWS leaves the default credential chain only what a case sets:
// no AWS variable of the machine, no shared files of the user, no instance
// metadata service (the chain must never try the network here).
func isolateAWS(t *testing.T) (dir string) {
	t.Helper()
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "AWS_") {
			t.Setenv(k, "")
			os.Unsetenv(k) // t.Setenv restores it after the test
		}
	}
	dir = t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	return dir
}

// TestSQSCredentials: with no keys in the config the client signs with
// what the SDK's default chain finds (the environment, the shared
// credentials file); keys in the config win over the environment. The
// fake SQS checks each request's SigV4 Authorization: its credential's key
// id and the signature made with the secret.
func TestSQSCredentials(t *testing.T) {
	const wrongID, wrongSecret = "AKIAWRONGWRONGWRONG", "not-the-secret"
	keys := func(id, secret string) config.Credentials {
		return config.Credentials{AWSAccessKeyID: config.NewSecret(id), AWSSecretAccessKey: config.NewSecret(secret)}
	}
	tests := []struct {
		name       string
		configured config.Credentials
		env        map[string]string
		sharedFile string // written to AWS_SHARED_CREDENTIALS_FILE
		wantErr    string // from the SQS request, "" for success
		wantNewErr string // from building the client
	}{
		{name: "no keys configured: the environment's",
			env: map[string]string{"AWS_ACCESS_KEY_ID": amazontest.DefaultAWSKeyID, "AWS_SECRET_ACCESS_KEY": amazontest.DefaultAWSSecret}},
		{name: "no keys configured: wrong ones in the environment are refused",
			env:     map[string]string{"AWS_ACCESS_KEY_ID": wrongID, "AWS_SECRET_ACCESS_KEY": amazontest.DefaultAWSSecret},
			wantErr: "security token"},
		{name: "no keys configured: a wrong secret in the environment is refused",
			env:     map[string]string{"AWS_ACCESS_KEY_ID": amazontest.DefaultAWSKeyID, "AWS_SECRET_ACCESS_KEY": wrongSecret},
			wantErr: "signature"},
		{name: "configured keys win over the environment",
			configured: keys(amazontest.DefaultAWSKeyID, amazontest.DefaultAWSSecret),
			env:        map[string]string{"AWS_ACCESS_KEY_ID": wrongID, "AWS_SECRET_ACCESS_KEY": wrongSecret}},
		{name: "configured wrong keys are used, not the environment's right ones",
			configured: keys(wrongID, wrongSecret),
			env:        map[string]string{"AWS_ACCESS_KEY_ID": amazontest.DefaultAWSKeyID, "AWS_SECRET_ACCESS_KEY": amazontest.DefaultAWSSecret},
			wantErr:    "security token"},
		{name: "no keys anywhere but the shared credentials file",
			sharedFile: "[default]\naws_access_key_id = " + amazontest.DefaultAWSKeyID + "\naws_secret_access_key = " + amazontest.DefaultAWSSecret + "\n"},
		{name: "AWS_PROFILE naming no profile fails when the client is built",
			env:        map[string]string{"AWS_PROFILE": "nonesuch"},
			wantNewErr: "nonesuch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := isolateAWS(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			if tt.sharedFile != "" {
				if err := os.WriteFile(filepath.Join(dir, "credentials"), []byte(tt.sharedFile), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			srv := amazontest.New(amazontest.Options{})
			defer srv.Close()
			s := testChannel(srv).Settings.(*Settings).SQS
			client, err := newSQSClient(tt.configured, s)
			if tt.wantNewErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantNewErr) {
					t.Fatalf("built the client: %v, want an error naming %q", err, tt.wantNewErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			_, err = client.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{
				QueueUrl: aws.String(s.QueueURL), MaxNumberOfMessages: 1, WaitTimeSeconds: 0,
			})
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("ReceiveMessage: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("ReceiveMessage: %v, want an error naming %q", err, tt.wantErr)
			}
		})
	}
}
