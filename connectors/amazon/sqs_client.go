package amazon

import (
	"errors"
	"net/url"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/shelfsync/shelfsync/config"
)

// newSQSClient builds the AWS SDK v2 SQS client of a channel's queue. It
// does no network I/O. Credentials come from credentials.aws_access_key_id
// and aws_secret_access_key, else from the standard environment variables
// (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN). Instance
// and container roles would need the SDK's config module, which shelfsync
// does not take on.
func newSQSClient(cr config.Credentials, s SQS) (*sqs.Client, error) {
	region := s.Region
	if region == "" {
		region = regionOfQueue(s.QueueURL) // Validate checked there is one
	}
	creds, err := sqsCredentials(cr)
	if err != nil {
		return nil, err
	}
	o := sqs.Options{Region: region, Credentials: creds}
	if s.Endpoint != "" {
		o.BaseEndpoint = aws.String(s.Endpoint)
	}
	return sqs.New(o), nil
}

func sqsCredentials(cr config.Credentials) (aws.CredentialsProvider, error) {
	// Validate checked that the two go together.
	if cr.AWSAccessKeyID.IsSet() {
		return credentials.NewStaticCredentialsProvider(cr.AWSAccessKeyID.Value(), cr.AWSSecretAccessKey.Value(), ""), nil
	}
	id, secret := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	if id == "" || secret == "" {
		return nil, errors.New("no AWS credentials for the SQS queue: set credentials.aws_access_key_id and aws_secret_access_key, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
	}
	return credentials.NewStaticCredentialsProvider(id, secret, os.Getenv("AWS_SESSION_TOKEN")), nil
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
