package amazon

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/shelfsync/shelfsync/config"
)

// newSQSClient builds the AWS SDK v2 SQS client of a channel's queue. It
// does no network I/O. Configured keys (credentials.aws_access_key_id and
// aws_secret_access_key) win; without them the SDK's default credential
// chain finds them as any AWS tool does: the environment
// (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), the shared
// config and credentials files (AWS_PROFILE), a web identity token (IAM
// roles for service accounts: AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE),
// the ECS container endpoint, then the EC2 instance profile. The chain is
// asked lazily, at the first request, and its credentials are cached and
// refreshed before they expire.
func newSQSClient(cr config.Credentials, s SQS) (*sqs.Client, error) {
	region := s.Region
	if region == "" {
		region = regionOfQueue(s.QueueURL) // Validate checked there is one
	}
	creds, err := sqsCredentials(context.Background(), cr)
	if err != nil {
		return nil, err
	}
	o := sqs.Options{Region: region, Credentials: creds}
	if s.Endpoint != "" {
		o.BaseEndpoint = aws.String(s.Endpoint)
	}
	return sqs.New(o), nil
}

// sqsCredentials is the configured keys, else the default chain. Loading
// the chain reads the environment and the shared files only; it fails on
// a broken shared file or an AWS_PROFILE that names no profile.
func sqsCredentials(ctx context.Context, cr config.Credentials) (aws.CredentialsProvider, error) {
	// Validate checked that the two go together.
	if cr.AWSAccessKeyID.IsSet() {
		return credentials.NewStaticCredentialsProvider(cr.AWSAccessKeyID.Value(), cr.AWSSecretAccessKey.Value(), ""), nil
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("AWS default credential chain for the SQS queue (or set credentials.aws_access_key_id and aws_secret_access_key): %w", err)
	}
	if cfg.Credentials == nil {
		return nil, errors.New("AWS default credential chain for the SQS queue: no credentials provider")
	}
	return cfg.Credentials, nil
}

// regionOfQueue reads the region of https://sqs.{region}.amazonaws.com/...
// (and the legacy https://{region}.queue.amazonaws.com/...).
func regionOfQueue(queueURL string) string {
	u, err := url.Parse(queueURL)
	if err != nil {
		return ""
	}
	parts := strings.Split(u.Hostname(), ".")
	switch {
	case len(parts) >= 4 && parts[0] == "sqs":
		return parts[1]
	case len(parts) >= 4 && parts[1] == "queue":
		return parts[0]
	}
	return ""
}
