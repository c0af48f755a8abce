package remotewrite

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// verifySigV4 recomputes the request's signature from the static test
// credentials, the headers it says it signed and its X-Amz-Date, and
// compares it with its Authorization header.
func verifySigV4(r *http.Request, body []byte, akid, secret, region string) string {
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	if got := r.Header.Get("X-Amz-Content-Sha256"); got != hash {
		return "X-Amz-Content-Sha256 " + got + " is not the SHA-256 of the body " + hash
	}
	auth := r.Header.Get("Authorization")
	scope := "/" + region + "/aps/aws4_request"
	if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential="+akid+"/") || !strings.Contains(auth, scope) {
		return "Authorization " + auth + " lacks credential scope " + scope
	}
	_, after, ok := strings.Cut(auth, "SignedHeaders=")
	if !ok {
		return "no SignedHeaders in " + auth
	}
	signed, _, _ := strings.Cut(after, ",")
	when, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return "X-Amz-Date: " + err.Error()
	}
	re, _ := http.NewRequest(r.Method, "http://"+r.Host+r.URL.RequestURI(), bytes.NewReader(body))
	re.Host = r.Host
	re.ContentLength = r.ContentLength
	for _, h := range strings.Split(signed, ";") {
		if h == "host" || h == "content-length" {
			continue
		}
		re.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
	}
	creds := credentials.NewStaticCredentialsProvider(akid, secret, "")
	c, _ := creds.Retrieve(context.Background())
	if err := v4.NewSigner().SignHTTP(context.Background(), c, re, hash, "aps", region, when); err != nil {
		return "re-sign: " + err.Error()
	}
	if want := re.Header.Get("Authorization"); want != auth {
		return "signature mismatch:\n got  " + auth + "\n want " + want
	}
	return ""
}

const testAKID, testSecret = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

// runSigV4 writes through a SigV4 client to a server that verifies every
// request's signature with the test credentials.
func runSigV4(t *testing.T, opts ...Option) {
	t.Helper()
	var (
		mu       sync.Mutex
		problems []string
		n        int
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		n++
		if p := verifySigV4(r, body, testAKID, testSecret, "eu-west-1"); p != "" {
			problems = append(problems, p)
		}
		if r.Host != "aps-workspaces.eu-west-1.amazonaws.com" {
			problems = append(problems, "host "+r.Host)
		}
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	// The URL is an AMP one (the region comes from it); the transport dials
	// the local server instead.
	tr := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, srv.Listener.Addr().String())
	}}
	cfg := testConfig("http://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1234/api/v1/remote_write")
	cfg.SigV4 = true
	cfg = cfg.WithDefaults()
	if cfg.Region != "eu-west-1" {
		t.Fatalf("Region = %q from the URL, want eu-west-1", cfg.Region)
	}
	cfg.Concurrency = 2
	c, _ := newTestClient(t, cfg, append([]Option{WithHTTPClient(&http.Client{Transport: tr})}, opts...)...)
	rep := c.Write(context.Background(), datapoints(50, 10, 7))
	if len(rep.Failed) != 0 {
		t.Fatalf("Failed: %v", rep.Failed[0].Err)
	}
	mu.Lock()
	defer mu.Unlock()
	if n == 0 {
		t.Fatal("no request reached the server")
	}
	for _, p := range problems {
		t.Error(p)
	}
}

func TestSigV4(t *testing.T) {
	runSigV4(t, WithCredentials(credentials.NewStaticCredentialsProvider(testAKID, testSecret, "")))
}

// Loading the AWS configuration is the caller's, once at start: with SigV4
// on and no credentials, New says so instead of loading them itself.
func TestSigV4NeedsCredentials(t *testing.T) {
	cfg := Config{URL: "https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1/api/v1/remote_write", SigV4: true}.WithDefaults()
	if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), "WithCredentials") {
		t.Fatalf("New = %v, want an error naming WithCredentials", err)
	}
}

// The verifier itself must catch a wrong region, so TestSigV4 can fail.
func TestSigV4VerifierCatchesWrongRegion(t *testing.T) {
	body := []byte("payload")
	req, _ := http.NewRequest(http.MethodPost, "http://aps-workspaces.eu-west-1.amazonaws.com/w", bytes.NewReader(body))
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	req.Header.Set("X-Amz-Content-Sha256", hash)
	c, _ := credentials.NewStaticCredentialsProvider("AK", "SK", "").Retrieve(context.Background())
	if err := v4.NewSigner().SignHTTP(context.Background(), c, req, hash, "aps", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	req.Host = req.URL.Host
	if p := verifySigV4(req, body, "AK", "SK", "eu-west-1"); p == "" {
		t.Fatal("verifier accepted a signature for the wrong region")
	}
	if p := verifySigV4(req, body, "AK", "SK", "us-east-1"); p != "" {
		t.Fatalf("verifier rejected a good signature: %s", p)
	}
	if p := verifySigV4(req, []byte("other"), "AK", "SK", "us-east-1"); p == "" {
		t.Fatal("verifier accepted a body that does not match the payload hash")
	}
}
