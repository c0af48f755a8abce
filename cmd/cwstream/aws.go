package main

import (
	"context"
	"fmt"
	"strings"

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
