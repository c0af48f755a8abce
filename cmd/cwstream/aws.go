package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cwstream/cwstream/internal/source"
)

// newOpener returns the source opener for args; it loads AWS configuration
// only when an argument is an s3:// URL.
func newOpener(ctx context.Context, e *env, args []string) (*source.Opener, error) {
	o := &source.Opener{Stdin: e.stdin}
	for _, a := range args {
		if !strings.HasPrefix(a, "s3://") {
			continue
		}
		awsCfg, err := config.LoadDefaultConfig(ctx)
		if err != nil {
			return nil, fmt.Errorf("loading AWS configuration for %s: %w", a, err)
		}
		// A custom endpoint (AWS_ENDPOINT_URL or AWS_ENDPOINT_URL_S3, as the
		// SDK reads them) is an S3-compatible server such as MinIO or moto,
		// which want path-style bucket addressing.
		custom := e.getenv("AWS_ENDPOINT_URL_S3") != "" || e.getenv("AWS_ENDPOINT_URL") != ""
		o.S3 = s3.NewFromConfig(awsCfg, func(o *s3.Options) { o.UsePathStyle = custom })
		break
	}
	return o, nil
}

// emptyPayloadHash is the SHA-256 of an empty body, what SigV4 signs for a
// GET.
const emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// apsSigner signs bodiless requests (AMP's query API) with SigV4 for the
// "aps" service, as AMP requires of every call.
type apsSigner struct {
	creds  aws.CredentialsProvider
	region string
	signer *v4.Signer
	next   http.RoundTripper
}

func (s *apsSigner) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil && req.Body != http.NoBody {
		return nil, fmt.Errorf("sigv4: %s %s: only bodiless requests are signed here", req.Method, req.URL.Redacted())
	}
	creds, err := s.creds.Retrieve(req.Context())
	if err != nil {
		return nil, fmt.Errorf("sigv4: retrieve credentials: %w", err)
	}
	r := req.Clone(req.Context())
	r.Header.Set("X-Amz-Content-Sha256", emptyPayloadHash)
	if err := s.signer.SignHTTP(r.Context(), creds, r, emptyPayloadHash, "aps", s.region, time.Now()); err != nil {
		return nil, fmt.Errorf("sigv4: sign: %w", err)
	}
	return s.next.RoundTrip(r)
}
