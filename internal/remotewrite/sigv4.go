package remotewrite

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// sigV4RoundTripper signs every request for service "aps" with AWS
// Signature Version 4 before handing it to the next RoundTripper, as
// Prometheus' own sigv4 package does, so that the transport knows nothing
// of AWS.
type sigV4RoundTripper struct {
	next   http.RoundTripper
	creds  aws.CredentialsProvider
	region string
	now    func() time.Time
	signer *v4.Signer
}

// NewSigV4RoundTripper returns a RoundTripper that signs every request for
// service "aps" (AMP's remote write and query APIs alike) with creds
// (cached unless already an *aws.CredentialsCache) for region; next nil is
// http.DefaultTransport, now nil is time.Now.
func NewSigV4RoundTripper(next http.RoundTripper, creds aws.CredentialsProvider, region string, now func() time.Time) (http.RoundTripper, error) {
	if creds == nil {
		return nil, errors.New("sigv4: no credentials provider: load the AWS configuration (config.LoadDefaultConfig) and pass its Credentials")
	}
	if region == "" {
		return nil, errors.New("sigv4: no region")
	}
	if _, ok := creds.(*aws.CredentialsCache); !ok {
		creds = aws.NewCredentialsCache(creds)
	}
	if next == nil {
		next = http.DefaultTransport
	}
	if now == nil {
		now = time.Now
	}
	return &sigV4RoundTripper{next: next, creds: creds, region: region, now: now, signer: v4.NewSigner()}, nil
}

// RoundTrip signs a clone of req and sends it. The payload hash is computed
// from req.GetBody when set (the body itself is left to the next
// RoundTripper), else from the body, read into memory; a request without a
// body signs the empty payload.
func (s *sigV4RoundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	fail := func(err error) (*http.Response, error) {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, err
	}
	// Nothing to sign for a request whose time is up.
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	out := req.Clone(ctx)
	h := sha256.New()
	switch {
	case req.GetBody != nil:
		b, err := req.GetBody()
		if err != nil {
			return fail(fmt.Errorf("sigv4: body: %w", err))
		}
		_, err = io.Copy(h, b)
		_ = b.Close()
		if err != nil {
			return fail(fmt.Errorf("sigv4: body: %w", err))
		}
	case req.Body != nil:
		b, err := io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("sigv4: body: %w", err)
		}
		h.Write(b)
		out.Body = io.NopCloser(bytes.NewReader(b))
	}
	hash := hex.EncodeToString(h.Sum(nil))
	creds, err := s.creds.Retrieve(ctx)
	if err != nil {
		// A credential chain that fails once usually fails again, but
		// IMDS/STS can blip; the attempt bound keeps retries finite.
		return fail(fmt.Errorf("sigv4: retrieve credentials: %w", err))
	}
	out.Header.Set("X-Amz-Content-Sha256", hash)
	if err := s.signer.SignHTTP(ctx, creds, out, hash, "aps", s.region, s.now()); err != nil {
		return fail(fmt.Errorf("sigv4: sign: %w", err))
	}
	return s.next.RoundTrip(out)
}
