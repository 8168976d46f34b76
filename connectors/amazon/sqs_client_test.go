package amazon

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

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

// TestSQSCredentialsWebIdentity: IAM roles for service accounts. With no
// keys anywhere but AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE (what EKS
// sets in the pod), the chain exchanges the token at STS
// (AssumeRoleWithWebIdentity, here a fake at AWS_ENDPOINT_URL_STS) and the
// SQS client signs with the temporary credentials STS returned, session
// token included; the fake SQS accepts only those keys.
func TestSQSCredentialsWebIdentity(t *testing.T) {
	dir := isolateAWS(t)
	const roleARN, token = "arn:aws:iam::123456789012:role/shelfsync", "eyJ.projected-service-account-token.sig"
	var stsCalls atomic.Int32
	sts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil || r.Form.Get("Action") != "AssumeRoleWithWebIdentity" ||
			r.Form.Get("RoleArn") != roleARN || r.Form.Get("WebIdentityToken") != token {
			http.Error(w, "unexpected STS request", http.StatusBadRequest)
			return
		}
		stsCalls.Add(1)
		w.Header().Set("Content-Type", "text/xml")
		fmt.Fprintf(w, `<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <Credentials>
      <AccessKeyId>%s</AccessKeyId>
      <SecretAccessKey>%s</SecretAccessKey>
      <SessionToken>session-token-from-sts</SessionToken>
      <Expiration>%s</Expiration>
    </Credentials>
    <AssumedRoleUser><Arn>%s/pod</Arn><AssumedRoleId>AROATEST:pod</AssumedRoleId></AssumedRoleUser>
  </AssumeRoleWithWebIdentityResult>
  <ResponseMetadata><RequestId>test</RequestId></ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>`, amazontest.DefaultAWSKeyID, amazontest.DefaultAWSSecret, time.Now().Add(time.Hour).UTC().Format(time.RFC3339), roleARN)
	}))
	defer sts.Close()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte(token), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_ROLE_ARN", roleARN)
	t.Setenv("AWS_WEB_IDENTITY_TOKEN_FILE", tokenFile)
	t.Setenv("AWS_ENDPOINT_URL_STS", sts.URL)
	t.Setenv("AWS_REGION", amazontest.DefaultAWSRegion)
	var sawToken atomic.Value
	srv := amazontest.New(amazontest.Options{})
	defer srv.Close()
	s := testChannel(srv).Settings.(*Settings).SQS
	client, err := newSQSClient(config.Credentials{}, s)
	if err != nil {
		t.Fatal(err)
	}
	_, err = client.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(s.QueueURL), MaxNumberOfMessages: 1},
		func(o *sqs.Options) {
			o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
				return st.Finalize.Add(middleware.FinalizeMiddlewareFunc("sawToken", func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
					if req, ok := in.Request.(*smithyhttp.Request); ok {
						sawToken.Store(req.Header.Get("X-Amz-Security-Token"))
					}
					return next.HandleFinalize(ctx, in)
				}), middleware.After)
			})
		})
	if err != nil {
		t.Fatalf("ReceiveMessage with the web identity's credentials: %v", err)
	}
	if stsCalls.Load() != 1 || sawToken.Load() != "session-token-from-sts" {
		t.Fatalf("STS calls %d, session token sent %q", stsCalls.Load(), sawToken.Load())
	}
}
